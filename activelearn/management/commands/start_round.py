from django.core.management.base import BaseCommand, CommandError

from activelearn.round_config import OPTIONS, RoundConfigError
from activelearn.round_selectors import round_detail
from activelearn.rounds import RoundBusy, start_round
from labeling.management.actor import actor_from, add_actor_argument

from ._round_cli import stage_line, wait, warn_if_no_worker

NULL = ("none", "null")


def num(x) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class Command(BaseCommand):
    help = ("Start an active-learning round (retrain the PRM, score the pool, grade answers, select, queue for "
            "labelling) on the Celery workers. Options left out take their defaults; the page and the API accept "
            "the same options.")

    def add_arguments(self, parser):
        for o in OPTIONS:
            default = "none" if o.default is None else repr(o.default) if o.type is str else num(o.default)
            bounds = f" [{num(o.min)} to {num(o.max)}]" if o.min is not None and o.max is not None else ""
            nullable = " 'none' for no limit." if o.nullable else ""
            # values stay text here: parse_config checks them, with the same messages as the API
            parser.add_argument(flag(o.name), dest=o.name, default=None, choices=list(o.choices) or None,
                                metavar=None if o.choices else o.type.__name__.upper(),
                                help=f"{o.help}{bounds}{nullable} Default: {default}.".replace("%", "%%"))
        parser.add_argument("--wait", action="store_true",
                            help="Print the stages' progress until the round ends; exit non-zero if it fails or is "
                                 "cancelled.")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between checks with --wait.")
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        config = {}
        for o in OPTIONS:
            value = opts.get(o.name)
            if value is None:
                continue
            config[o.name] = None if o.nullable and value.strip().lower() in NULL else value
        try:
            r = start_round(config, actor_from(opts))
        except RoundConfigError as exc:
            field = flag(exc.field) if exc.field in {o.name for o in OPTIONS} else exc.field
            raise CommandError(f"{field}: {exc.message}") from None
        except RoundBusy as exc:
            raise CommandError(f"cannot start a round: {exc.message}") from None
        settings = " ".join(f"{k}={v}" for k, v in r.config.items())
        self.stdout.write(f"Started round {r.generation} ({settings}).")
        warn_if_no_worker(self)
        if opts["wait"]:
            wait(self, r, opts["interval"])
        else:
            self.stdout.write(stage_line(round_detail(r)))
