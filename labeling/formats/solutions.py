"""Parsers for problem and solution files: Stepwise JSONL, MATH problems, ProcessBench.

Each parser turns one decoded record into an ImportItem or raises RecordError.
"""
import uuid
from datetime import UTC, datetime

from labeling.formats import math_shepherd, segmentation, trajectories
from labeling.formats.errors import RecordError, json_type, json_value
from labeling.formats.items import ImportItem, PassIn, ProblemIn, SolutionIn
from labeling.formats.prm800k import format_timestamp
from labeling.formats.segmentation import Segmentation, SegmentationError
from labeling.formats.solution_text import extract_answer, split_steps
from labeling.storage import hashing

# ProcessBench labels were written by its authors' annotators; they import as one
# external annotator with a fixed UUID and, since the data carries no time, a fixed timestamp
# (the benchmark's release day), so a pass has the same identity however often it is imported.
PROCESSBENCH_ANNOTATOR = uuid.uuid5(uuid.NAMESPACE_URL, "stepwise:processbench")
PROCESSBENCH_LABELLED_AT = datetime(2024, 12, 9, tzinfo=UTC)

SOLUTION_KEYS = {"problem", "ground_truth_answer", "ground_truth_solution", "steps", "solution", "answer",
                 "is_correct", "generator", "subject", "level", "unique_id", "id", "verifier_score", "segmentation"}


def _obj(rec) -> dict:
    if not isinstance(rec, dict):
        raise RecordError("", f"record must be a JSON object, got {json_type(rec)}")
    return rec


# Keys stored in length-limited columns (see labeling.models).
MAX_LENGTHS = {"subject": 100, "generator": 255, "unique_id": 255, "id": 255}


def _str(rec: dict, key: str, required: bool = False) -> str | None:
    v = rec.get(key)
    if v is None:
        if required:
            raise RecordError(key, "is missing")
        return None
    if not isinstance(v, str):
        raise RecordError(key, f"must be a string, got {json_type(v)}")
    if key in MAX_LENGTHS and len(v) > MAX_LENGTHS[key]:
        raise RecordError(key, f"is longer than {MAX_LENGTHS[key]} characters")
    return v


MAX_LEVEL = 32767  # Problem.level is a PositiveSmallIntegerField


def _level(rec: dict) -> int | None:
    v = original = rec.get("level")
    if isinstance(v, str):
        digits = v.removeprefix("Level ").strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= 5:  # not "²", not 5000 digits
            v = int(digits)
    if v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_LEVEL):
        return v
    raise RecordError("level", f"must be an integer 0..{MAX_LEVEL} or 'Level N', got {json_value(original, 40)}")


def _bool(rec: dict, key: str) -> bool | None:
    v = rec.get(key)
    if v is not None and not isinstance(v, bool):
        raise RecordError(key, f"must be true, false or null, got {json_value(v, 40)}")
    return v


def _segmentation(rec: dict, default: Segmentation | None) -> Segmentation | None:
    if "segmentation" not in rec:
        return default
    if not isinstance(rec["segmentation"], dict):
        raise RecordError("segmentation", "must be an object of segmentation options")
    try:
        return segmentation.from_options(rec["segmentation"])
    except (SegmentationError, TypeError) as exc:
        where = f"segmentation.{exc.field}" if isinstance(exc, SegmentationError) else "segmentation"
        raise RecordError(where, getattr(exc, "message", str(exc))) from None


def _steps(rec: dict, seg: Segmentation | None = None) -> list[str]:
    if "steps" in rec:
        steps = rec["steps"]
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise RecordError("steps", "must be a list of strings")
    elif isinstance(rec.get("solution"), str):
        steps = segmentation.segment(rec["solution"], seg) if seg else split_steps(rec["solution"])
    else:
        raise RecordError("steps", "is missing (give `steps` as a list or `solution` as text)")
    if not steps:
        raise RecordError("steps", "must not be empty")
    return steps


def _problem(rec: dict, answer_key: str, solution_key: str | None) -> ProblemIn:
    text = _str(rec, "problem", required=True)
    source_id = _str(rec, "unique_id") or ""
    return ProblemIn(key=hashing.problem_hash(text), text=text, ground_truth_answer=_str(rec, answer_key),
                     ground_truth_solution=_str(rec, solution_key) if solution_key else None,
                     subject=_str(rec, "subject") or "", level=_level(rec), source_id=source_id)


def parse_solution(rec, segment_by: Segmentation | None = None) -> ImportItem:
    """`{problem, ground_truth_answer, steps[] | solution, answer, segmentation, ...}`: an unlabelled solution.
    A `solution` text is cut into steps by the record's `segmentation` options, else by `segment_by` (the
    import's), else as before (paragraphs, else lines); a segmented text is kept beside its steps."""
    rec = _obj(rec)
    problem = _problem(rec, "ground_truth_answer", "ground_truth_solution")
    if "steps" in rec and "segmentation" in rec:
        raise RecordError("segmentation", "applies to a `solution` text; this record gives its `steps`")
    seg = _segmentation(rec, segment_by) if "steps" not in rec else None
    steps = _steps(rec, seg)
    answer = _str(rec, "answer")
    if answer is None:
        answer = extract_answer(steps[-1])
    score = rec.get("verifier_score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise RecordError("verifier_score", f"must be a number, got {json_value(score, 40)}")
    source_id = _str(rec, "id") if isinstance(rec.get("id"), str) else ""
    _check_alternatives(rec.get("alternatives"), len(steps))
    solution = SolutionIn(key=hashing.solution_hash(problem.key, steps, answer), problem_key=problem.key,
                          steps=steps, final_answer=answer, answer_is_correct=_bool(rec, "is_correct"),
                          generator=_str(rec, "generator") or "", source_id=source_id, verifier_score=score,
                          extra={**{k: v for k, v in rec.items() if k not in SOLUTION_KEYS},
                                 **({"original_text": rec["solution"], "segmentation": seg.describe()}
                                    if seg is not None else {})})
    return ImportItem(problem=problem, solution=solution)


def _check_alternatives(alternatives, n_steps: int) -> None:
    """Optional `{"<step index>": ["other candidate text", ...]}`: rated after a -1 at that step."""
    if alternatives is None:
        return
    if not isinstance(alternatives, dict):
        raise RecordError("alternatives", "must be an object mapping step indexes to lists of texts")
    indexes = {str(i) for i in range(n_steps)}  # as written by submission: "0", "1", ... (not "01" or "²")
    for k, texts in alternatives.items():
        if k not in indexes:
            raise RecordError(f"alternatives.{k[:40]}", f"must be a step index 0..{n_steps - 1}")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise RecordError(f"alternatives.{k}", "must be a list of strings")


def parse_math(rec) -> ImportItem:
    """A MATH problem `{problem, solution, answer, subject, level, unique_id}`: problem only."""
    rec = _obj(rec)
    _str(rec, "answer", required=True)
    return ImportItem(problem=_problem(rec, "answer", "solution"))


def parse_processbench(rec) -> ImportItem:
    """`{id, generator, problem, steps, final_answer_correct, label}` with its human step labels.

    Steps before `label` are correct (+1), step `label` is the first error (-1), later
    steps are unlabelled; `label == -1` means every step is correct.
    """
    rec = _obj(rec)
    pid = _str(rec, "id", required=True)
    text = _str(rec, "problem", required=True)
    steps = _steps(rec)
    label = rec.get("label")
    if isinstance(label, bool) or not isinstance(label, int) or not -1 <= label < len(steps):
        raise RecordError("label", f"must be -1 or a step index 0..{len(steps) - 1}, got {json_value(label, 40)}")
    correct = _bool(rec, "final_answer_correct")
    answer = extract_answer(steps[-1])
    problem = ProblemIn(key=hashing.problem_hash(text), text=text, source_id="")
    solution = SolutionIn(key=hashing.solution_hash(problem.key, steps, answer), problem_key=problem.key,
                          steps=steps, final_answer=answer, answer_is_correct=correct,
                          generator=_str(rec, "generator") or "", source_id=pid,
                          extra={k: v for k, v in rec.items() if k not in {"id", "generator", "problem", "steps",
                                                                             "final_answer_correct", "label"}})
    last = len(steps) - 1 if label == -1 else label
    labelled = []
    for i in range(last + 1):
        rating = -1 if i == label else 1
        labelled.append({"completions": [{"text": steps[i], "rating": rating, "flagged": None}],
                         "human_completion": None, "chosen_completion": None if rating == -1 else 0})
    pas = PassIn(key=hashing.pass_identity(str(PROCESSBENCH_ANNOTATOR), format_timestamp(PROCESSBENCH_LABELLED_AT),
                                           problem.key, solution.key),
                 annotator_uuid=PROCESSBENCH_ANNOTATOR, problem_key=problem.key, solution_key=solution.key,
                 submitted_at=PROCESSBENCH_LABELLED_AT,
                 steps=labelled, finish_reason="solution" if label == -1 else "found_error")
    return ImportItem(problem=problem, solution=solution, passes=[pas])


PARSERS = {"jsonl": parse_solution, "math": parse_math, "processbench": parse_processbench,
           "math-shepherd": math_shepherd.parse_record, trajectories.FORMAT: trajectories.parse_trace}
FORMATS = ("auto", *PARSERS)
