"""Math-Shepherd files (Wang et al. 2024): `{input, label, task}`, the solution's steps each ended by
the tag `ки` in `input`, and the same text in `label` with each tag replaced by `+` (the step's
rollouts reached the right answer) or `-` (none did).

The labels were made by rollouts, not by people: they import as automatic labels of the run
`imported:math-shepherd`, beside (never inside) human passes. The problem is the text before
`Step 1:`; each step loses its `Step N:` prefix, which Stepwise numbers itself.
"""
import re

from labeling.formats.errors import RecordError, json_type
from labeling.formats.items import AutoLabelsIn, ImportItem, ProblemIn, SolutionIn
from labeling.storage import hashing

TAG = "ки"
RUN_KEY = "imported:math-shepherd"
VERSION = "math-shepherd-file@1"
_FIRST_STEP = re.compile(r"(?:^|\s)Step 1\s*:")
_STEP_PREFIX = re.compile(r"^\s*Step \d+\s*:\s*")
_ANSWER = re.compile(r"The answer is\s*:?\s*(.+?)\s*$", re.S)


def _split(text: str) -> tuple[str, list[str]]:
    m = _FIRST_STEP.search(text)
    if not m:
        raise RecordError("input", "no `Step 1:` marks where the solution begins")
    problem, body = text[:m.start()].strip(), text[m.start():]
    if not problem:
        raise RecordError("input", "no problem text before `Step 1:`")
    return problem, body.split(TAG)


def _signs(parts: list[str], label: str) -> list[int]:
    """+1 / -1 per tag: `label` must be `input` with each tag replaced by one sign."""
    offset = len(label) - sum(len(p) for p in parts) - (len(parts) - 1)
    pos = offset  # the problem text before the body, which may differ only in whitespace
    if offset < 0:
        raise RecordError("label", "is shorter than `input` with one sign per tag")
    signs = []
    for i, part in enumerate(parts[:-1]):
        pos += len(part)
        sign = label[pos:pos + 1]
        if label[pos - len(part):pos] != part or sign not in ("+", "-"):
            raise RecordError("label", f"does not match `input` at step {i + 1}: expected `+` or `-` where "
                                       f"`input` has `{TAG}`")
        signs.append(1 if sign == "+" else -1)
        pos += 1
    if label[pos:] != parts[-1]:
        raise RecordError("label", f"does not match `input` after the last `{TAG}`")
    return signs


def parse_record(rec) -> ImportItem:
    if not isinstance(rec, dict):
        raise RecordError("", f"record must be a JSON object, got {json_type(rec)}")
    for key in ("input", "label"):
        if not isinstance(rec.get(key), str):
            raise RecordError(key, f"must be a string, got {json_type(rec.get(key))}")
    if TAG not in rec["input"]:
        raise RecordError("input", f"has no step tag `{TAG}`")
    text, parts = _split(rec["input"])
    signs = _signs(parts, rec["label"])
    if not rec["label"].lstrip().startswith(text):
        raise RecordError("label", "does not begin with the problem text of `input`")
    if parts[-1].strip():
        raise RecordError("input", f"text after the last `{TAG}`: every step must end with the tag")
    steps = [_STEP_PREFIX.sub("", p).strip() for p in parts[:-1]]
    if any(not s for s in steps):
        raise RecordError("input", f"step {1 + [bool(s) for s in steps].index(False)} is empty")
    m = _ANSWER.search(steps[-1])
    answer = m.group(1).strip() if m else None
    task = rec.get("task") if isinstance(rec.get("task"), str) else ""
    problem = ProblemIn(key=hashing.problem_hash(text), text=text)
    solution = SolutionIn(key=hashing.solution_hash(problem.key, steps, answer), problem_key=problem.key,
                          steps=steps, final_answer=answer, generator="math-shepherd",
                          extra={"math_shepherd_task": task} if task else {})
    labels = AutoLabelsIn(run_key=RUN_KEY, labeller_version=VERSION, hard=signs, detail={"task": task} if task else {})
    return ImportItem(problem=problem, solution=solution, auto_labels=[labels])
