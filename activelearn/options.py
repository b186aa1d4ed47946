"""Typed options checked as JSON values: a round's options and a policy connection's settings are
both lists of `Option`s read by the same parser, so every entry point (the page, the API, the
commands) accepts exactly the same values and words its errors the same way.

Values are JSON values and their types are checked, not converted: "4" is not an integer (forms
and command lines turn their text into typed values with `from_text` first).
"""
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass


class OptionError(ValueError):
    """A value refused, with the dotted name of the option (`field`) and why."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Option:
    name: str
    type: type  # int, float, str, list (of strings) or dict (checked by `check`)
    default: object
    help: str
    choices: Sequence[str] = ()
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    check: Callable | None = None  # a further check of the value (ValueError: its message; OptionError: its field)


KIND = {int: "an integer", float: "a number", str: "a string", list: "an array of strings", dict: "an object"}
MAX_TEXT = 1000
MAX_ITEMS = 16


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


def storable(text: str) -> bool:
    """JSON columns are jsonb on PostgreSQL, which refuses NUL and unpaired surrogates (it was a 500)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def format_number(x: float) -> str:
    """An option's number as people write it: 4, not 4.0; 0.8 as 0.8."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def describe_default(o: Option) -> str:
    """An option's default as help texts show it."""
    if o.default is None:
        return "none"
    if o.type is str:
        return repr(o.default)
    if o.type in (list, dict):
        import json

        return json.dumps(o.default)
    return format_number(o.default)


def _text(o: Option, value: str, error: type[OptionError], field: str) -> str:
    if len(value) > MAX_TEXT:
        raise error(field, "is too long")
    if not storable(value):
        raise error(field, "must not contain NUL characters or unpaired surrogates")
    return value


def _number(o: Option, value, error: type[OptionError]):
    if o.type is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise error(o.name, f"must be an integer, got {value!r}")
            value = int(value)
        return value
    try:
        value = float(value)
    except OverflowError:
        raise error(o.name, f"must be between {format_number(o.min)} and {format_number(o.max)}") from None
    if not math.isfinite(value):
        raise error(o.name, "must be a finite number")
    return value


def coerce(o: Option, value, error: type[OptionError] = OptionError):
    """The checked value of option `o` (an empty string is the default of a text option)."""
    if value is None and o.nullable:
        return None
    if value == "" and o.type is str:
        return o.default
    wrong = error(o.name, f"must be {KIND[o.type]}{', or null' if o.nullable else ''}, got {json_type(value)}")
    if o.type is str:
        if not isinstance(value, str):
            raise wrong
        value = _text(o, value, error, o.name)
    elif o.type is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong
        if len(value) > MAX_ITEMS:
            raise error(o.name, f"holds at most {MAX_ITEMS} strings")
        value = [_text(o, v, error, f"{o.name}[{i}]") for i, v in enumerate(value)]
    elif o.type is dict:
        if not isinstance(value, dict):
            raise wrong
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong
    else:
        value = _number(o, value, error)
    if o.check is not None:
        try:
            value = o.check(value)
        except OptionError as exc:
            raise error(f"{o.name}.{exc.field}" if exc.field else o.name, exc.message) from None
        except ValueError as exc:
            raise error(o.name, str(exc)) from None
    elif o.choices and value not in o.choices:
        raise error(o.name, f"must be one of {', '.join(o.choices)}")
    if o.min is not None and value < o.min or o.max is not None and value > o.max:
        raise error(o.name, f"must be between {format_number(o.min)} and {format_number(o.max)}")
    return value


NULL_WORDS = ("none", "null")


def from_text(o: Option, text: str, error: type[OptionError] = OptionError):
    """Text (the command line, a form body) as the typed value it stands for: "4" -> 4, "none" or
    nothing -> None for a nullable option; an error if it is no such value. `coerce` then checks
    it like any JSON value. JSON bodies never come through here."""
    if o.nullable and text.strip().lower() in (*NULL_WORDS, ""):
        return None
    if o.type is int:
        try:
            return int(text.strip())
        except ValueError:
            raise error(o.name, f"must be an integer, got {text!r}") from None
    if o.type is float:
        try:
            return float(text.strip())
        except ValueError:
            raise error(o.name, f"must be a number, got {text!r}") from None
    if o.type is list:
        return [part for part in text.split(",") if part] if text else []
    if o.type is dict:
        import json

        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            raise error(o.name, "must be a JSON object") from None
    return text


def parse_options(data, options: Sequence[Option], error: type[OptionError] = OptionError, *,
                  defaults: bool = True, what: str = "config") -> dict:
    """Every option checked and, with `defaults`, the missing ones filled in (without: only those
    given, for overrides). Unknown keys are refused by name."""
    data = data or {}
    if not isinstance(data, dict):
        raise error(what, "must be an object")
    known = {o.name: o for o in options}
    for key in data:
        if key not in known:
            raise error(str(key)[:100], "unknown option")
    chosen = options if defaults else [o for o in options if o.name in data]
    return {o.name: coerce(o, data.get(o.name, o.default), error) for o in chosen}
