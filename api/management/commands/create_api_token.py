from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.tokens import create_token
from labeling.cli import actor_from, add_actor_argument


class Command(BaseCommand):
    help = "Make an API token for a user and print its key (shown once; only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="What the token is for, e.g. 'training cluster'.")
        add_actor_argument(parser)

    def handle(self, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        _, key = create_token(user, name, created_by=actor_from(options))
        self.stdout.write(key)
