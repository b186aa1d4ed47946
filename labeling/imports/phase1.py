"""PRM800K phase 1 as tasks to label again in the browser: each phase-1 record (PRM800K JSONL, or the flat
stepwise-critic rows) becomes a solution whose step k is the record's first candidate at step k, with the
other candidates as `alternatives` (the shape the labelling page and the submit know). In the `alternatives`
protocol every candidate of every step is rated, one is chosen to continue or the labeller writes their own,
and the pass is a phase-1 record again.

Phase 1's candidates for step k+1 were sampled after the original labeller's choice at step k; served from the
data, they stay those, whatever the new labeller chooses (a live policy would sample after the new choice).
"""
from labeling.formats import prm800k
from labeling.formats.errors import RecordError
from labeling.formats.items import ImportItem, SolutionIn
from labeling.formats.solution_text import extract_answer
from labeling.imports.detect import open_records
from labeling.storage import hashing


def _texts(step: dict) -> list[str]:
    return [c["text"] for c in step.get("completions") or [] if isinstance(c, dict) and isinstance(c.get("text"), str)]


def task_from_record(rec) -> ImportItem:
    """The phase-1 record `rec` as a problem and a solution to label (its passes are not imported)."""
    item = prm800k.parse_record(rec)
    phase1 = [p for p in item.passes if p.solution_key is None]
    if not phase1:
        raise RecordError("label", "not a phase-1 record (it names a pre-generated solution): nothing to serve")
    candidates = [_texts(step) for step in phase1[0].steps]
    if not candidates or any(not texts for texts in candidates):
        raise RecordError("label.steps", "every step needs at least one candidate completion with text")
    steps = [texts[0] for texts in candidates]
    alternatives = {str(k): texts[1:] for k, texts in enumerate(candidates) if len(texts) > 1}
    answer = extract_answer(steps[-1])
    key = hashing.solution_hash(item.problem.key, steps, answer)
    return ImportItem(problem=item.problem, solution=SolutionIn(
        key=key, problem_key=item.problem.key, steps=steps, final_answer=answer, generator="prm800k-phase1",
        extra={"alternatives": alternatives, "phase1_candidates": [len(t) for t in candidates]}))


def records(path, fmt: str = "auto"):
    """The file's records, for `task_from_record` (PRM800K JSONL or stepwise-critic rows)."""
    _, recs = open_records(path, fmt, labels=None)
    return recs
