import os
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from activelearn.grading import solutions, worker_pool


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Command(BaseCommand):
    help = ("Grade solutions' final answers against their problem's reference answer (math-verify) and "
            "record answer_is_correct / answer_graded_at. Skips graded solutions and verdicts from the source "
            "data unless --force.")

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Grade again solutions already graded, and override verdicts from the source data.")
        parser.add_argument("--timeout", type=float, default=worker_pool.DEFAULT_TIMEOUT,
                            help="Seconds per comparison before it counts as ungradable (default %(default)s).")
        parser.add_argument("--workers", type=int, default=min(4, _cpus()),
                            help="Comparisons run at once, one process each (default %(default)s).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, force, timeout, workers, no_progress, **opts):
        if timeout <= 0 or workers < 1:
            raise CommandError("--timeout must be > 0 and --workers >= 1")
        total = solutions.gradable_solutions(force=force).count()
        bar = tqdm(total=total, desc="grade answers", unit="sol", file=sys.stderr, disable=no_progress,
                   dynamic_ncols=True)
        try:
            counts = solutions.grade_solutions(force=force, timeout=timeout, workers=workers,
                                             progress=lambda n: bar.update(n - bar.n))
        finally:
            bar.close()
            worker_pool.shutdown_workers()
        self.stdout.write(self.style.SUCCESS(
            "graded {graded} ({correct} correct, {wrong} wrong), {ungradable} ungradable, {skipped} skipped".format(
                **counts)))
