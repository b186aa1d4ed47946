"""Evaluation files read as records (ProcessBench, sampled solutions, validation sets)."""
from pathlib import Path

from labeling.imports.readers import first_char, iter_json_array, iter_jsonl


def read_records(path: str | Path) -> list[dict]:
    """A JSON array, a single JSON object or JSON Lines."""
    if first_char(path) == "[":
        return [r for _, r in iter_json_array(path)]
    records = [r for _, r in iter_jsonl(path)]
    return records
