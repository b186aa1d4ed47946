"""Small helpers shared by tests."""
import gzip
import io
from pathlib import Path

import orjson
from django.core.management import call_command

from labeling.models import Annotator, LabeledPass, Problem, Solution


def read_jsonl(path: Path) -> list:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, records: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, "--no-progress", stdout=out)
    return out.getvalue()


def row_counts() -> dict:
    return {m.__name__: m.objects.count() for m in (Problem, Solution, Annotator, LabeledPass)}
