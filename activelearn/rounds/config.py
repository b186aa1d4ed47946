"""A round's configuration: defaults, types, bounds. One parser for the page, the API and
`start_round`, so every entry point accepts exactly the same options.

Values are JSON values and their types are checked, not converted: "4" is not an integer (the
page sends numbers; `start_round` turns its command-line text into typed values with
`from_text` first)."""
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from activelearn.prm import allowlist
from activelearn.selection.strategies import STRATEGIES, SelectionConfig


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
    choices: Sequence[str] = ()
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    check: Callable[[str], str] | None = None  # a further check of a text value (ValueError: its message)


class _BackboneNames(Sequence):
    """The names `base_model` may take, read from the settings whenever asked (the page's select):
    empty (the default) and the names in PRM_ALLOWED_BACKBONES."""

    def _names(self) -> tuple[str, ...]:
        return ("", *allowlist.allowed_backbones())

    def __getitem__(self, i):
        return self._names()[i]

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return "<PRM_ALLOWED_BACKBONES names>"


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
    Option("base_model", str, "", "Backbone for a scratch run, by name: one of PRM_ALLOWED_BACKBONES; empty = the "
           "default (PRM_BASE_MODEL, else the bundled all-MiniLM-L6-v2). Never a path.",
           choices=_BackboneNames(), check=allowlist.check_backbone_name),
    Option("chunk_size", int, 256, "Solutions per scoring task; chunks run in parallel on all workers.", min=1,
           max=100_000),
    Option("seed", int, 0, "Seed for training and uniform selection.", min=0, max=2**31 - 1),
]
DEFAULTS = {o.name: o.default for o in OPTIONS}


def json_type(value) -> str:
    """What a JSON value is, in JSON's words, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a file" if hasattr(value, "read") else type(value).__name__


KIND = {int: "an integer", float: "a number", str: "a string"}


def _coerce(o: Option, value):
    if value is None and o.nullable:
        return None
    if value == "" and o.type is str:
        return o.default
    wrong = RoundConfigError(o.name, f"must be {KIND[o.type]}{', or null' if o.nullable else ''}, got "
                                     f"{json_type(value)}")
    if o.type is str:
        if not isinstance(value, str):
            raise wrong
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong
    elif o.type is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise RoundConfigError(o.name, f"must be an integer, got {value!r}")
            value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:
            raise RoundConfigError(o.name, f"must be between {format_number(o.min)} and "
                                           f"{format_number(o.max)}") from None
        if not math.isfinite(value):
            raise RoundConfigError(o.name, "must be a finite number")
    if o.type is str:
        if len(value) > 1000:
            raise RoundConfigError(o.name, "is too long")
        if not _storable(value):
            raise RoundConfigError(o.name, "must not contain NUL characters or unpaired surrogates")
    if o.check is not None:
        try:
            value = o.check(value)
        except ValueError as exc:
            raise RoundConfigError(o.name, str(exc)) from None
    elif o.choices and value not in o.choices:
        raise RoundConfigError(o.name, f"must be one of {', '.join(o.choices)}")
    if o.min is not None and value < o.min or o.max is not None and value > o.max:
        raise RoundConfigError(o.name, f"must be between {format_number(o.min)} and {format_number(o.max)}")
    return value


NULL_WORDS = ("none", "null")


def from_text(o: Option, text: str):
    """Text (the command line, a form body) as the typed value it stands for: "4" -> 4, "none" or
    nothing -> None for a nullable option; RoundConfigError if it is no such value. parse_config
    then checks it like any JSON value. JSON bodies never come through here."""
    if o.nullable and text.strip().lower() in (*NULL_WORDS, ""):
        return None
    if o.type is int:
        try:
            return int(text.strip())
        except ValueError:
            raise RoundConfigError(o.name, f"must be an integer, got {text!r}") from None
    if o.type is float:
        try:
            return float(text.strip())
        except ValueError:
            raise RoundConfigError(o.name, f"must be a number, got {text!r}") from None
    return text


def from_form(data: dict) -> dict:
    """A form body's fields (all text) as typed values, by from_text; unknown keys are left for
    parse_config to refuse by name."""
    known = {o.name: o for o in OPTIONS}
    return {k: from_text(known[k], v) if k in known and isinstance(v, str) else v for k, v in data.items()}


def _storable(text: str) -> bool:
    """Round.config is jsonb: PostgreSQL refuses NUL and unpaired surrogates (it was a 500)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def format_number(x: float) -> str:
    """An option's number as people write it: 4, not 4.0; 0.8 as 0.8."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


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
