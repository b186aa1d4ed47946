"""Hypothesis strategies and settings shared by the fuzz tests (tests/test_fuzz_*.py).

Bad input comes in two kinds: mutations of a valid record or payload (a value retyped,
replaced, deleted or added, so that the fuzzing gets past the first type check into the
deep validation) and wholly random JSON or bytes. Values lean on the cases that break things:
NUL characters, lone surrogates, digits that are not ASCII, integers past the database
columns, dates at the edge of the calendar, huge strings, deep nesting.

Bounded by default: each test runs the examples its decorator names, with a fixed seed.
A longer hunt, random seed:

    FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_importers.py tests/test_fuzz_api.py
    pytest tests/test_fuzz_api.py --fuzz-examples 2000
"""
import copy
import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

DEEP = "\x01deep\x01"  # a placeholder: `dumps` puts deeply nested brackets in its place


def bounded(n: int):
    """n examples and a fixed seed (a reproducible CI run); FUZZ_EXAMPLES=N: N examples, random seed."""
    env = os.environ.get("FUZZ_EXAMPLES")
    return settings(max_examples=int(env) if env else n, derandomize=not env, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


NASTY_STRINGS = [
    "", " ", "\x00", "a\x00b", "\ud800", "²", "١٢", "Level ²", "Level 99999", "Level -1", "-1", "1e999", "NaN",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2023-02-30T12:00:00", "2022-06-01T12:00:00.5Z",
    "null", "\n", "\u2028", "🙂", "../../etc/passwd", "%s%n", "x" * 70_000, "9" * 5000, "0" * 20 + "1",
    "00000000-0000-0000-0000-000000000000", "solution", "found_error", "give_up", "admin", "annotator", DEEP,
]
NASTY_NUMBERS = [0, -1, 1, 2, 3, 7, 32767, 32768, 2**31, -2**31 - 1, 2**63 - 1, 2**63, 2**64, 10**30, -10**30,
                 0.5, 1.0, -0.0, 1e308, 5e-324, True, False]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20), st.sampled_from(NASTY_STRINGS), st.sampled_from(NASTY_NUMBERS),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
# What a mutation puts in: mostly the nasty values, alone or wrapped once.
nasty = st.sampled_from(NASTY_STRINGS) | st.sampled_from(NASTY_NUMBERS)
replacements = st.one_of(nasty, nasty, nasty.map(lambda v: [v]), nasty.map(lambda v: {"0": v}), json_values)

SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
DATES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00", "2023-02-30T12:00:00"]


def near(value):
    """Values close to `value` that get past a first type check: same type, odd content."""
    if isinstance(value, bool) or value is None:
        return st.sampled_from([not value, 0, 1, "true", None])
    if isinstance(value, (int, float)):
        return st.sampled_from([float(value), str(value), bool(value), -value, value * 10**20]) | st.sampled_from(
            NASTY_NUMBERS)
    if isinstance(value, str):
        digits = value.translate(SUPERSCRIPTS)
        return st.one_of(
            st.sampled_from(NASTY_STRINGS), st.sampled_from(DATES) if value[:2] in ("19", "20") else st.nothing(),
            st.sampled_from(["\x00", "\ud800", "x" * 70_000, "9" * 5000]).map(lambda bad: value + bad),
            st.just(digits) if digits != value else st.nothing())
    if isinstance(value, list):
        return st.sampled_from([[], value * 50, [value], {"0": value}])
    return st.sampled_from([{}, [value], {k: v for k, v in list(value.items())[:1]}])


def _get(value, path):
    for p in path:
        value = value[p]
    return value


def _paths(value, prefix=()):
    """Every path into a JSON value (the root included), as tuples of keys and indexes."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated(draw, value, keys=()):
    """`value` with one to three changes: a leaf retyped (1 -> 1.0, "Level 2" -> "Level ²"), a value
    replaced, deleted, or added (under one of `keys` or a random key)."""
    value = copy.deepcopy(value)
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        paths = list(_paths(value))
        op = draw(st.sampled_from(["retype", "retype", "replace", "delete", "add"]))
        leaves = [p for p in paths if p and not isinstance(_get(value, p), (dict, list))]
        if op == "retype" and leaves:
            path = draw(st.sampled_from(leaves))
            parent = _get(value, path[:-1])
            parent[path[-1]] = draw(near(parent[path[-1]]))
            continue
        else:
            # A depth first, then a path of that depth: top-level fields are as likely as the many deep ones.
            depth = draw(st.sampled_from(sorted({len(p) for p in paths})))
            path = draw(st.sampled_from([p for p in paths if len(p) == depth]))
        if not path:
            if op == "replace":
                value = draw(replacements)
            continue
        *parent_path, last = path
        parent = _get(value, parent_path)
        target = parent[last]
        if op == "replace":
            parent[last] = draw(near(target) | replacements)
        elif op == "delete":
            del parent[last]
        elif isinstance(target, dict):
            target[draw(st.sampled_from(keys) if keys else st.text(max_size=8))] = draw(replacements)
        elif isinstance(target, list):
            target.insert(draw(st.integers(0, len(target))), draw(replacements))
    return value


@st.composite
def dumps(draw, value) -> bytes:
    """`value` as JSON bytes; sometimes non-ASCII written raw (lone surrogates become invalid UTF-8)."""
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    out = text.encode("utf-8", "surrogatepass")
    if b"deep\\u0001" in out:
        n = draw(st.sampled_from([150, 199, 201, 255, 1100, 5000]))
        out = out.replace(b'"\\u0001deep\\u0001"', b"[" * n + b"]" * n)
    return out


DAMAGE = [b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\n", b"\r\n", b"{", b"}", b"[", b"\"", b",", b"\\", b"\\u00",
          b"\xef\xbb\xbf", b" " * 100]


@st.composite
def damaged(draw, content: bytes) -> bytes:
    """Raw damage to a file: cut short, bytes inserted or overwritten, or nothing."""
    kind = draw(st.sampled_from(["none", "none", "truncate", "insert", "overwrite"]))
    if kind == "none" or not content:
        return content
    at = draw(st.integers(0, len(content)))
    if kind == "truncate":
        return content[:at]
    junk = draw(st.sampled_from(DAMAGE) | st.binary(min_size=1, max_size=8))
    return content[:at] + junk + content[at + (len(junk) if kind == "overwrite" else 0):]
