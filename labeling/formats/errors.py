"""Errors of imports, and how they name a value: as JSON writes it (`true`, `null`, `"text"`), never
as Python would (`True`, `None`, `str`), because the people who read them wrote JSON."""
import orjson

JSON_TYPES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}


def json_type(v) -> str:
    """The JSON name of a value's type: null, boolean, number, string, array or object."""
    return "null" if v is None else JSON_TYPES.get(type(v), type(v).__name__)


def json_value(v, limit: int = 40) -> str:
    """The value as JSON text, cut to `limit` characters."""
    try:
        text = orjson.dumps(v).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        text = str(v)
    return text if len(text) <= limit else text[:limit] + "…"


class RecordError(ValueError):
    """A record that cannot be imported. `field` is a dotted path inside the record."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"field `{field}`: {message}" if field else message)


class ImportFileError(ValueError):
    """An import that was refused: names the file and the line (or record index)."""

    def __init__(self, path: str, where: str, error: Exception | str):
        self.path, self.where, self.error = path, where, error
        super().__init__(f"{path}:{where}: {error}")


class LocatedError(Exception):
    """A record's error with where it is in the file ("line N", "record N", "row N")."""

    def __init__(self, where: str, error: Exception):
        self.where, self.error = where, error
        super().__init__(f"{where}: {error}")
