"""`--actor USERNAME` for commands that change data, roles, tokens, models or rounds: who runs
it, for the audit trail. Without it the event names the OS user (`os:NAME`)."""
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def add_actor_argument(parser) -> None:
    parser.add_argument("--actor", metavar="USERNAME",
                        help="The Stepwise user running this, for the audit trail (default: the OS user's name).")


def actor_from(options: dict):
    name = options.get("actor")
    if not name:
        return None
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise CommandError(f"--actor: no user named {name!r}")
    return user
