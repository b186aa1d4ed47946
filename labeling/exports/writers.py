"""Writing exports: PRM800K JSONL and TRL stepwise-supervision rows, streamed to a file or stdout."""
import gzip
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from labeling.exports import rows, step_labels
from labeling.formats import prm800k, step_rows
from labeling.formats.trl import trl_rows


def prm800k_lines(qs, with_notes: bool = False) -> Iterator[bytes]:
    """PRM800K records; `with_notes`: each -1 step also carries its `error_type` and `rationale` (extra keys a
    PRM800K reader ignores; left out by default, so the files stay PRM800K's)."""
    for row in rows.export_rows(qs, with_notes=with_notes):
        if with_notes and row.get("step_notes"):
            steps = orjson.loads(row["steps"])
            for k, note in row["step_notes"].items():
                if int(k) < len(steps):
                    steps[int(k)].update(note)
            row["steps"] = orjson.dumps(steps).decode()
        yield orjson.dumps(prm800k.build_record(row)) + b"\n"


def trl_lines(qs, neutral: str = "positive") -> Iterator[bytes]:
    """TRL rows of people's passes; a pass with error types gives its rows `notes` by step (null, or the -1
    step's {error_type, rationale}); TRL reads only prompt, completions and labels."""
    for row in rows.export_rows(qs, with_notes=True):
        notes = row.get("step_notes")
        for out in trl_rows(row["problem_text"], orjson.loads(row["steps"]), neutral):
            if notes:
                out["notes"] = [notes.get(str(k)) for k in range(len(out["completions"]))]
            yield orjson.dumps(out) + b"\n"


def step_label_lines(sources: list[str], shape: str = "steps", *, run: str | None = None, include_qc: bool = False,
                     neutral: str = "positive", project: int | None = None) -> Iterator[bytes]:
    """Step labels of each source in turn, in one of step_rows.SHAPES (of one project; None: every one)."""
    for source in sources:
        for row in step_labels.rows(source, run=run, include_qc=include_qc, project=project):
            out = step_rows.shape(row, shape, neutral)
            if out is not None:
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
