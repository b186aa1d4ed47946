"""Automatic step labels for a set of solutions, in this process: the same labellers and runs as the
API and a round's auto-label stage."""

from django.core.management.base import BaseCommand, CommandError

from activelearn.cli.run_progress import carry_out
from activelearn.labellers import runs
from activelearn.options import OptionError
from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.models import RunStatus


class Command(BaseCommand):
    help = ("Label solutions automatically: rollouts (k continuations per step, Math-Shepherd), first_error (binary "
            "search over the steps, OmegaPRM), judge (a judge model's earliest wrong step) or prm (the active PRM at "
            "a threshold). A run is resumable: the same --run again labels only what it has not.")

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, choices=runs.SOURCES)
        parser.add_argument("--connection", default="demo", help="The completer's or judge's connection (demo: the "
                            "built-in demo completer/judge).")
        parser.add_argument("--k", type=int, default=8, help="Continuations per step or per probe (default 8).")
        parser.add_argument("--attempts", type=int, default=1, help="Judge answers per solution (majority).")
        parser.add_argument("--verdicts", action="store_true", help="Ask the judge for a verdict per step too.")
        parser.add_argument("--threshold", type=float, default=0.5, help="prm: a step below this score is an error.")
        parser.add_argument("--run", help="Run name (the same name resumes); default derived from the options.")
        parser.add_argument("--of-run", help="Only the solutions a generation run made (its key).")
        parser.add_argument("--labelled", action="store_true", help="Only solutions with a human pass (to compare).")
        parser.add_argument("--problem-source", help="Only solutions of problems whose source id starts with this.")
        parser.add_argument("--cap", type=int, help="At most this many solutions (lowest ids first).")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, **o):
        params = {"connection": o["connection"], "k": o["k"], "attempts": o["attempts"], "verdicts": o["verdicts"],
                  "threshold": o["threshold"]}
        filters = {"run": o["of_run"], "labelled": o["labelled"], "source": o["problem_source"], "cap": o["cap"]}
        project = project_from(o)
        key = o["run"] or runs.run_key(o["source"], params, filters, project)
        if runs.taken_elsewhere(key, project):
            raise CommandError(f"--run: a run named {key!r} exists in another project: name another")
        try:
            run = runs.start_run(key, o["source"], params, filters, user=actor_from(o), project=project.pk)
        except OptionError as exc:
            raise CommandError(f"--{exc.field.replace('_', '-')}: {exc.message}") from None
        failed = carry_out(runs.RUNS, run, 16, lambda chunk: runs.run_chunk(run, chunk), desc=f"label {key}",
                           unit="solution", advance=lambda chunk, _: len(chunk), kept="labelled",
                           no_progress=o["no_progress"]) == RunStatus.FAILED
        s = runs.RUNS.summary(run)
        c = s["cost"]
        if failed:
            run.refresh_from_db()
            raise CommandError(f"run {key}: {run.error}")
        self.stdout.write(self.style.SUCCESS(
            f"run {key} ({s['source']}, {s['labeller_version']}, {s['model']}): {s['labelled']} of {s['solutions']} "
            f"solutions labelled, {s['with_error']} with an error, {s['malformed']} malformed. Cost: {c['requests']} "
            f"requests ({c['failed_requests']} failed), {c['rollouts']} rollouts, "
            f"{c['prompt_tokens'] + c['completion_tokens']} tokens, {c['request_seconds']:.1f} s in requests."))
