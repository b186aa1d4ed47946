from django.core.management.base import BaseCommand, CommandError

from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.cli.progress import Progress
from labeling.exports import trajectories
from labeling.exports.writers import write_export
from labeling.models import AuditAction, AutoLabelRun
from labeling.people import audit


class Command(BaseCommand):
    help = ("Export labelled agent traces in AgentProcessBench's shape: the trace as imported plus step_labels "
            "keyed by message index and final_label (traces), or the label lines alone (labels); people's passes, "
            "and each --run's automatic labels.")

    def add_arguments(self, parser):
        parser.add_argument("out", metavar="OUT", help="Output file, '-' for stdout; a .gz name is compressed.")
        parser.add_argument("--shape", default="traces", choices=trajectories.SHAPES)
        parser.add_argument("--run", action="append", default=[], metavar="KEY",
                            help="Also this automatic run's labels (repeat), e.g. imported:agentprocessbench:MODEL.")
        parser.add_argument("--no-people", action="store_true", help="Leave people's passes out.")
        parser.add_argument("--include-qc", action="store_true", help="Include QC and screening passes.")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, out, shape, run, no_people, include_qc, no_progress, **opts):
        import orjson

        project = project_from(opts)
        for key in run:
            if not AutoLabelRun.objects.filter(key=key, project=project).exists():
                raise CommandError(f"--run: no labelling run {key!r} in project {project.slug}")
        lines = (orjson.dumps(d) + b"\n" for d in trajectories.lines(
            project.pk, shape, people=not no_people, runs=run, include_qc=include_qc))
        bar = Progress(f"export {out}", unit="line", disable=no_progress or out == "-")
        try:
            n = write_export(out, lines, progress=bar)
        finally:
            bar.close()
        name = "-" if out == "-" else out.rsplit("/", 1)[-1]  # the file name only: never a server path
        audit.record(actor_from(opts), AuditAction.EXPORT, audit.Target("file", name), file=name,
                     in_project=project.pk, format=f"trajectories-{shape}", lines=n, runs=run, people=not no_people)
        if out != "-":
            self.stdout.write(self.style.SUCCESS(f"{out}: {n} lines"))
