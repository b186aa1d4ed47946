"""A round's configuration: defaults, types, bounds. One parser for the page, the API and
`start_round`, so every entry point accepts exactly the same options."""
from dataclasses import dataclass

from .selection import STRATEGIES, SelectionConfig


class RoundConfigError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Option:
    name: str
    type: type
    default: object
    help: str
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    nullable: bool = False


OPTIONS = [
    Option("strategy", str, "convincing", "convincing: per problem, wrong_fraction most convincing wrong answers and "
           "the rest most convincing of the remainder; top_k: global top-K wrong answers; uniform: random (control).",
           choices=STRATEGIES),
    Option("per_problem", int, 4, "Solutions selected per problem (convincing).", min=1, max=1000),
    Option("wrong_fraction", float, 0.8, "Share of convincing wrong-answer solutions per problem.", min=0, max=1),
    Option("per_problem_cap", int, None, "At most this many per problem (any strategy).", min=1, max=1000,
           nullable=True),
    Option("round_cap", int, 500, "At most this many solutions in the round (K for top_k and uniform).", min=1,
           max=10**6, nullable=True),
    Option("overlap", int, 1, "Independent passes wanted per selected solution.", min=1, max=20),
    Option("qc", int, 0, "Quality-control solutions (with gold labels) given this round's generation.", min=0,
           max=10**4),
    Option("retrain", str, "scratch", "scratch: train a new PRM on all labels; finetune: continue the active "
           "version; none: score with the active version as it is.", choices=("scratch", "finetune", "none")),
    Option("epochs", float, 3.0, "Training epochs.", min=0.01, max=100),
    Option("max_length", int, 512, "Tokens per sequence for training and scoring.", min=16, max=8192),
    Option("base_model", str, "", "Backbone for a scratch run: local path or hub id; empty = PRM_BASE_MODEL."),
    Option("chunk_size", int, 256, "Solutions per scoring task; chunks run in parallel on all workers.", min=1,
           max=100_000),
    Option("seed", int, 0, "Seed for training and uniform selection.", min=0, max=2**31 - 1),
]
DEFAULTS = {o.name: o.default for o in OPTIONS}


def _coerce(o: Option, value):
    if value is None or value == "":
        if o.nullable:
            return None
        if o.type is str:
            return "" if o.default == "" else o.default
        raise RoundConfigError(o.name, "is required")
    if o.type is bool or isinstance(value, bool):
        raise RoundConfigError(o.name, f"must be a{'n integer' if o.type is int else ' number'}")
    try:
        if o.type is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            value = int(value)
        elif o.type is float:
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
        elif not isinstance(value, str):
            raise ValueError
    except (TypeError, ValueError):
        kind = {int: "an integer", float: "a number", str: "text"}[o.type]
        raise RoundConfigError(o.name, f"must be {kind}") from None
    if o.choices and value not in o.choices:
        raise RoundConfigError(o.name, f"must be one of {', '.join(o.choices)}")
    if o.min is not None and value < o.min or o.max is not None and value > o.max:
        raise RoundConfigError(o.name, f"must be between {_num(o.min)} and {_num(o.max)}")
    if o.type is str and len(value) > 1000:
        raise RoundConfigError(o.name, "is too long")
    if o.type is str and not _storable(value):
        raise RoundConfigError(o.name, "must not contain NUL characters or unpaired surrogates")
    return value


def _storable(text: str) -> bool:
    """Round.config is jsonb: PostgreSQL refuses NUL and unpaired surrogates (it was a 500)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def parse_config(data: dict | None) -> dict:
    """Defaults filled in and every value checked; unknown keys are refused by name."""
    data = data or {}
    if not isinstance(data, dict):
        raise RoundConfigError("config", "must be an object")
    known = {o.name: o for o in OPTIONS}
    for key in data:
        if key not in known:
            raise RoundConfigError(str(key)[:100], "unknown option")
    config = {o.name: _coerce(o, data.get(o.name, o.default)) for o in OPTIONS}
    try:
        selection_config(config)
    except ValueError as exc:
        raise RoundConfigError("strategy", str(exc)) from None
    return config


def selection_config(config: dict) -> SelectionConfig:
    return SelectionConfig(strategy=config["strategy"], per_problem=config["per_problem"],
                           wrong_fraction=config["wrong_fraction"], per_problem_cap=config["per_problem_cap"],
                           round_cap=config["round_cap"], seed=config["seed"])
