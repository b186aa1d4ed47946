"""Step-label rows (labeling.exports.step_labels) in the shapes an export writes:

- `steps`: Stepwise's step-label JSONL, the row itself: problem, steps, per-step labels (-1/0/+1 or
  null), soft labels where the source has them, first error, source and provenance, and for people's passes
  with any, `notes`: per step null or the -1 step's `{error_type, rationale}`;
- `trl`: TRL stepwise supervision (`prompt, completions, labels` as booleans), up to and with the
  first error, with `soft_labels`, `source` and `provenance` beside (TRL reads only its three);
- `processbench`: ProcessBench's shape (`id, generator, problem, steps, final_answer_correct,
  label`), `label` the earliest wrong step or -1, so its own evaluation scripts can score it.
"""
from labeling.formats.neutral import EXPORT_POLICIES

SHAPES = ("steps", "trl", "processbench")


def _row_id(row: dict) -> str:
    sol = row["solution"]
    return sol["source_id"] or sol["key"] if sol else f"pass-{row['provenance']['pass_id']}"


def as_trl(row: dict, neutral: str = "positive") -> dict | None:
    if neutral not in EXPORT_POLICIES:
        raise ValueError(f"neutral must be one of {', '.join(EXPORT_POLICIES)}")
    completions, labels, soft = [], [], []
    for i, r in enumerate(row["labels"]):
        if r is None or (r == 0 and neutral == "drop"):
            break  # nothing is known from here on
        completions.append(row["steps"][i])
        labels.append(r == 1 or (r == 0 and neutral == "positive"))
        soft.append(row["soft"][i] if row["soft"] and i < len(row["soft"]) else None)
        if r == -1:
            break
    if not completions:
        return None
    notes = row.get("notes")
    return {"prompt": row["problem"], "completions": completions, "labels": labels,
            "soft_labels": soft if any(v is not None for v in soft) else None, "source": row["source"],
            "provenance": row["provenance"], **({"notes": notes[:len(completions)]} if notes else {})}


def as_processbench(row: dict) -> dict | None:
    if row["first_error"] is None:
        return None
    sol = row["solution"] or {}
    return {"id": _row_id(row), "generator": sol.get("generator") or "", "problem": row["problem"],
            "steps": row["steps"], "final_answer_correct": sol.get("final_answer_correct"),
            "label": row["first_error"], "source": row["source"], "provenance": row["provenance"]}


def shape(row: dict, name: str, neutral: str = "positive") -> dict | None:
    """The row in shape `name`, or None when the row has nothing that shape can say."""
    if name == "steps":
        return row
    if name == "trl":
        return as_trl(row, neutral)
    if name == "processbench":
        return as_processbench(row)
    raise ValueError(f"shape must be one of {', '.join(SHAPES)}")
