from pathlib import Path

from django.core.management.base import BaseCommand

from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.cli.progress import Progress
from labeling.exports import rows
from labeling.exports import writers as exporters
from labeling.formats.neutral import EXPORT_POLICIES
from labeling.models import AuditAction
from labeling.people import audit


class Command(BaseCommand):
    help = "Export labelled passes as PRM800K JSONL or TRL stepwise-supervision rows (streamed)."

    def add_arguments(self, parser):
        parser.add_argument("out", metavar="OUT", help="Output file, '-' for stdout; a .gz name is compressed.")
        parser.add_argument("--generation", type=int, nargs="+", help="Only passes of these generations.")
        parser.add_argument("--include-qc", action="store_true",
                            help="Include quality-control and screening passes (left out by default).")
        parser.add_argument("--format", default="prm800k", choices=("prm800k", "trl"))
        parser.add_argument("--neutral", default="positive", choices=EXPORT_POLICIES,
                            help="TRL only: neutral (0) steps count as positive (the paper's best), negative, "
                                 "or end the row (drop).")
        parser.add_argument("--with-error-types", action="store_true",
                            help="prm800k only: each -1 step also carries its error_type and rationale (extra keys; "
                                 "left out by default so the file is PRM800K's).")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, out, generation, include_qc, format, neutral, no_progress, with_error_types, **opts):
        actor, project = actor_from(opts), project_from(opts)
        qs = rows.passes_for_export(generation, include_qc, project=project.pk)
        lines = exporters.prm800k_lines(qs, with_notes=with_error_types) if format == "prm800k" \
            else exporters.trl_lines(qs, neutral)
        bar = Progress(f"export {out}", unit="line", disable=no_progress or out == "-")
        try:
            n = exporters.write_export(out, lines, progress=bar)
        except BrokenPipeError:  # `export_prm800k - | head`: the reader has what it wanted
            n = None
        finally:
            bar.close()
        # after the data is out (a failed export wrote no file); the file name only, never a server path
        name = "stdout" if out == "-" else Path(out).name
        audit.record(actor, AuditAction.EXPORT, audit.Target("file", name), in_project=project.pk, file=name,
                     format=format, lines=n,
                     complete=n is not None, generations=sorted(set(generation or [])), include_qc=include_qc,
                     **({"neutral": neutral} if format == "trl" else {}))
        if n is not None and out != "-":
            self.stdout.write(self.style.SUCCESS(f"wrote {n} {format} lines to {out}"))
