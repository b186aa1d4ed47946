from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from activelearn.prm import openrlhf
from activelearn.prm.step_format import step_format_of
from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.exports import rows
from labeling.exports.writers import write_export
from labeling.models import AuditAction
from labeling.people import audit


class Command(BaseCommand):
    help = ("Export people's step labels as the JSON Lines OpenRLHF's PRM trainer (openrlhf.cli.train_prm) reads: "
            "the text with a placeholder token after each step, and one reward token per placeholder.")

    def add_arguments(self, parser):
        parser.add_argument("out", metavar="OUT", help="Output file, '-' for stdout; a .gz name is compressed.")
        parser.add_argument("--step-format", default="math-shepherd", metavar="PRESET|JSON",
                            help="The format (its tag is the placeholder, good/bad the reward tokens): "
                                 "math-shepherd (default: tag ки, + and -), stepwise, or a JSON object.")
        parser.add_argument("--neutral", default="positive", choices=openrlhf.NEUTRAL,
                            help="Neutral (0) steps: the good token (the paper's best), the bad one, or the "
                                 "format's neutral_as.")
        parser.add_argument("--generation", type=int, nargs="+", help="Only passes of these generations.")
        parser.add_argument("--include-qc", action="store_true", help="Include quality-control and screening passes.")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, **o):
        import json

        actor, project = actor_from(o), project_from(o)
        text = o["step_format"]
        try:
            fmt = step_format_of(json.loads(text) if text.lstrip().startswith("{") else text)
            openrlhf.check_format(fmt)
        except ValueError as exc:
            raise CommandError(f"--step-format: {exc}") from None
        qs = rows.passes_for_export(o["generation"], o["include_qc"], project=project.pk)
        n = write_export(o["out"], openrlhf.lines(qs, fmt, o["neutral"]))
        name = "stdout" if o["out"] == "-" else Path(o["out"]).name
        audit.record(actor, AuditAction.EXPORT, audit.Target("file", name), in_project=project.pk, file=name,
                     format="openrlhf", lines=n, neutral=o["neutral"], include_qc=o["include_qc"])
        if o["out"] != "-":
            self.stderr.write(f"wrote {n} rows to {o['out']}; train with: {openrlhf.trainer_arguments(fmt)}")
