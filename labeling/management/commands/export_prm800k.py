from django.core.management.base import BaseCommand

from labeling import exporters, selectors

from ._progress import Progress


class Command(BaseCommand):
    help = "Export labelled passes as PRM800K JSONL or TRL stepwise-supervision rows (streamed)."

    def add_arguments(self, parser):
        parser.add_argument("out", metavar="OUT", help="Output file, '-' for stdout; a .gz name is compressed.")
        parser.add_argument("--generation", type=int, nargs="+", help="Only passes of these generations.")
        parser.add_argument("--include-qc", action="store_true",
                            help="Include quality-control and screening passes (left out by default).")
        parser.add_argument("--format", default="prm800k", choices=("prm800k", "trl"))
        parser.add_argument("--neutral", default="positive", choices=exporters.NEUTRAL_POLICIES,
                            help="TRL only: neutral (0) steps count as positive (the paper's best), negative, "
                                 "or end the row (drop).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, out, generation, include_qc, format, neutral, no_progress, **opts):
        qs = selectors.passes_for_export(generation, include_qc)
        lines = exporters.prm800k_lines(qs) if format == "prm800k" else exporters.trl_lines(qs, neutral)
        bar = Progress(f"export {out}", unit="line", disable=no_progress or out == "-")
        try:
            n = exporters.write_export(out, lines, progress=bar)
        except BrokenPipeError:  # `export_prm800k - | head`: the reader has what it wanted
            return
        finally:
            bar.close()
        if out != "-":
            self.stdout.write(self.style.SUCCESS(f"wrote {n} {format} lines to {out}"))
