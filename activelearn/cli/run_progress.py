"""Shared by generate_solutions and auto_label: a run
(activelearn/runs.py) carried out in this process, chunk by chunk, with a progress bar."""
import sys
from collections.abc import Callable

from django.core.management.base import CommandError
from tqdm import tqdm

from activelearn.grading import worker_pool
from activelearn.policy.client import PolicyError
from activelearn.runs import Runs


def carry_out(runs: Runs, run, size: int, do_chunk: Callable[[list[int]], object], *, desc: str, unit: str,
              advance: Callable[[list[int], object], int], kept: str, no_progress: bool) -> str:
    """Every chunk the run still misses, a bar on stderr moving by `advance(chunk, its result)`. A policy
    server's error finishes the run failed and stops the command: the same run again goes on with what
    it has not `kept`. Returns how the run ended."""
    bar = tqdm(total=runs.total(run), initial=runs.done(run), desc=desc, unit=unit, file=sys.stderr,
               disable=no_progress)
    try:
        return runs.run_all(run, size, do_chunk, progress=lambda chunk, result: bar.update(advance(chunk, result)),
                            failing=(PolicyError,))
    except PolicyError as exc:
        raise CommandError(f"{exc} (run {run.key} keeps what it {kept}: run the command again to go on)") from None
    finally:
        bar.close()
        worker_pool.shutdown_workers()
