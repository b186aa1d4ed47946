from django.core.management.base import BaseCommand, CommandError

from activelearn.cli.round_watch import get_round, wait, warn_if_no_worker
from activelearn.rounds.config import RoundConfigError
from activelearn.rounds.errors import RoundBusy
from activelearn.rounds.lifecycle import resume_round
from labeling.cli import actor_from, add_actor_argument


class Command(BaseCommand):
    help = "Run a failed or cancelled round again from its first unfinished stage."

    def add_arguments(self, parser):
        parser.add_argument("generation", type=int)
        parser.add_argument("--wait", action="store_true",
                            help="Print the stages' progress until the round ends; exit non-zero if it fails or is "
                                 "cancelled.")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between checks with --wait.")
        add_actor_argument(parser)

    def handle(self, *args, generation, **opts):
        try:
            r = resume_round(get_round(generation), actor=actor_from(opts))
        except RoundConfigError as exc:
            raise CommandError(exc.message) from None
        except RoundBusy as exc:
            raise CommandError(f"cannot resume round {generation}: {exc.message}") from None
        self.stdout.write(f"Round {r.generation} queued again (attempt {r.attempt}).")
        warn_if_no_worker(self)
        if opts["wait"]:
            wait(self, r, opts["interval"])
