"""Export services: PRM800K JSONL and TRL stepwise-supervision rows, streamed."""
import gzip
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from . import prm800k, selectors
from .paths import rated_paths

NEUTRAL_POLICIES = ("positive", "negative", "drop")


def prm800k_lines(qs) -> Iterator[bytes]:
    for row in selectors.export_rows(qs):
        yield orjson.dumps(prm800k.build_record(row)) + b"\n"


def _step_label(rating, neutral: str) -> bool | None:
    """The boolean training label of a rating; None = cannot be used."""
    if rating is None:
        return None
    if rating == 0:
        return {"positive": True, "negative": False, "drop": None}[neutral]
    return rating == 1


def _cut(completions: list[str], labels: list) -> dict | None:
    # Under the "drop" policy a neutral step cannot be labelled; the row ends before it.
    if None in labels:
        i = labels.index(None)
        completions, labels = completions[:i], labels[:i]
    return {"completions": completions, "labels": labels} if completions else None


def trl_rows(prompt: str, steps: list, neutral: str = "positive") -> Iterator[dict]:
    """TRL stepwise-supervision rows of one pass (see `paths.rated_paths` for which).

    Rows that the neutral policy makes identical are written once.
    """
    seen: set = set()
    for texts, ratings in rated_paths(steps):
        row = _cut(texts, [_step_label(r, neutral) for r in ratings])
        if row is None:
            continue
        key = (tuple(row["completions"]), tuple(row["labels"]))
        if key not in seen:
            seen.add(key)
            yield {"prompt": prompt, **row}


def trl_lines(qs, neutral: str = "positive") -> Iterator[bytes]:
    for row in selectors.export_rows(qs):
        for out in trl_rows(row["problem_text"], orjson.loads(row["steps"]), neutral):
            yield orjson.dumps(out) + b"\n"


@contextmanager
def open_output(out: str):
    """`-` is stdout; a name ending in .gz is gzip-compressed.

    Files are written beside the target and renamed at the end, so a failed export
    never leaves a half-written file under the requested name.
    """
    if out == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    tmp = f"{out}.partial"
    try:
        gz = out.endswith(".gz")
        with gzip.open(tmp, "wb", compresslevel=6) if gz else open(tmp, "wb", buffering=1 << 20) as f:
            yield f
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_export(out: str, lines: Iterator[bytes], progress=None) -> int:
    n = 0
    with open_output(out) as f:
        for line in lines:
            f.write(line)
            n += 1
            if progress and n % 1000 == 0:
                progress(n)
    return n
