from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.cli.progress import Progress
from labeling.exports import writers as exporters
from labeling.exports.step_labels import SOURCES
from labeling.formats.neutral import EXPORT_POLICIES
from labeling.formats.step_rows import SHAPES
from labeling.models import AuditAction, AutoLabelRun
from labeling.people import audit


class Command(BaseCommand):
    help = ("Export step labels by source, with provenance: people's, an automatic source's, or the consensus "
            "of rollouts and a judge; as step-label JSONL, TRL rows or ProcessBench records (streamed).")

    def add_arguments(self, parser):
        parser.add_argument("out", metavar="OUT", help="Output file, '-' for stdout; a .gz name is compressed.")
        parser.add_argument("--source", action="append", choices=SOURCES, required=True,
                            help="Repeat for several; each solution's newest readable labels of an automatic "
                                 "source, every finished pass of people (human).")
        parser.add_argument("--run", metavar="KEY", help="Only this run's labels (one automatic --source).")
        parser.add_argument("--format", default="steps", choices=SHAPES,
                            help="steps: per-step -1/0/+1, soft labels, provenance; trl: TRL stepwise "
                                 "supervision; processbench: the earliest wrong step, ProcessBench's shape.")
        parser.add_argument("--neutral", default="positive", choices=EXPORT_POLICIES,
                            help="TRL only: neutral (0) steps count as positive, negative, or end the row.")
        parser.add_argument("--include-qc", action="store_true", help="human: include QC and screening passes.")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, out, source, run, format, neutral, include_qc, no_progress, **opts):
        if run:
            found = AutoLabelRun.objects.filter(key=run).values_list("source", flat=True).first()
            if found is None:
                raise CommandError(f"--run: no labelling run {run!r}")
            if source != [found]:
                raise CommandError(f"--run {run} is a {found} run: pass --source {found} alone")
        project = project_from(opts)
        lines = exporters.step_label_lines(source, format, run=run, include_qc=include_qc, neutral=neutral,
                                           project=project.pk)
        bar = Progress(f"export {out}", unit="line", disable=no_progress or out == "-")
        try:
            n = exporters.write_export(out, lines, progress=bar)
        except BrokenPipeError:
            n = None
        finally:
            bar.close()
        name = "stdout" if out == "-" else Path(out).name
        audit.record(actor_from(opts), AuditAction.EXPORT, audit.Target("file", name), in_project=project.pk,
                     file=name,
                     format=f"step-labels:{format}", sources=source, run=run or "", lines=n, complete=n is not None)
        if n is not None and out != "-":
            self.stdout.write(self.style.SUCCESS(f"wrote {n} {format} lines of {', '.join(source)} to {out}"))
