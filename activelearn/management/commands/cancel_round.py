from django.core.management.base import BaseCommand, CommandError

from activelearn.cli.round_watch import get_round
from activelearn.rounds.config import RoundConfigError
from activelearn.rounds.lifecycle import cancel_round
from labeling.cli import actor_from, add_actor_argument


class Command(BaseCommand):
    help = "Cancel a queued or running round: it stops at once in the database, a worker on it at its next check."

    def add_arguments(self, parser):
        parser.add_argument("generation", type=int)
        add_actor_argument(parser)

    def handle(self, *args, generation, **opts):
        try:
            r = cancel_round(get_round(generation), actor=actor_from(opts))
        except RoundConfigError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Round {r.generation} cancelled; resume it with `manage.py resume_round {r.generation}`.")
