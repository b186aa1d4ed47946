import argparse

from django.core.management.base import BaseCommand, CommandError

from activelearn.cli.round_watch import stage_line, wait, warn_if_no_worker
from activelearn.options import Option, describe_default, format_number
from activelearn.rounds.config import OPTIONS, RoundConfigError, config_of, from_text
from activelearn.rounds.errors import RoundBusy
from activelearn.rounds.lifecycle import start_round
from activelearn.rounds.progress import round_detail
from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from

UNSET = object()  # the option was not given (None is a value: --round-cap none)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def typed(o: Option):
    """argparse `type`: the text as the typed value it stands for; parse_config checks the rest."""
    def convert(text: str):
        try:
            return from_text(o, text)
        except RoundConfigError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    convert.__name__ = o.type.__name__
    return convert


class Command(BaseCommand):
    help = ("Start an active-learning round (retrain the PRM, score the pool, grade answers, select, queue for "
            "labelling) on the Celery workers. Options left out take their defaults; the page and the API accept "
            "the same options.")

    def add_arguments(self, parser):
        for o in OPTIONS:
            default = describe_default(o)
            bounded = o.min is not None and o.max is not None
            bounds = f" [{format_number(o.min)} to {format_number(o.max)}]" if bounded else ""
            nullable = " 'none' for no limit." if o.nullable else ""
            # typed values (as the API's JSON has them); parse_config checks them, with the API's messages
            choices = None if o.check else list(o.choices) or None
            parser.add_argument(flag(o.name), dest=o.name, default=UNSET, type=typed(o), choices=choices,
                                metavar=None if choices else "JSON" if o.type is dict else "NAME" if o.check
                                else o.type.__name__.upper(),
                                help=f"{o.help}{bounds}{nullable} Default: {default}.".replace("%", "%%"))
        parser.add_argument("--wait", action="store_true",
                            help="Print the stages' progress until the round ends; exit non-zero if it fails or is "
                                 "cancelled.")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between checks with --wait.")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, **opts):
        config = {}
        for o in OPTIONS:
            if opts.get(o.name, UNSET) is not UNSET:
                config[o.name] = opts[o.name]
        try:
            r = start_round(config, actor_from(opts), project=project_from(opts))
        except RoundConfigError as exc:
            field = flag(exc.field) if exc.field in {o.name for o in OPTIONS} else exc.field
            raise CommandError(f"{field}: {exc.message}") from None
        except RoundBusy as exc:
            raise CommandError(f"cannot start a round: {exc.message}") from None
        settings = " ".join(f"{k}={v}" for k, v in config_of(r).as_dict().items())
        self.stdout.write(f"Started round {r.generation} in {r.project.slug} ({settings}).")
        warn_if_no_worker(self)
        if opts["wait"]:
            wait(self, r, opts["interval"])
        else:
            self.stdout.write(stage_line(round_detail(r)))
