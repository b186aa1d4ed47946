"""The PRM800K record format: validation on the way in, the record on the way out (fields:
docs/method.md, "The PRM800K record").

Pure functions, no database: `parse_record` turns one decoded JSON object into an
`ImportItem` (or raises RecordError naming the field); `build_record` turns the
stored values of a pass back into the record, key order as in the format table.
"""
import uuid
from datetime import UTC, datetime

import orjson

from labeling.formats.errors import RecordError, json_type, json_value
from labeling.formats.items import ImportItem, PassIn, ProblemIn, SolutionIn
from labeling.storage import hashing

TOP_KEYS = ("labeler", "timestamp", "generation", "is_quality_control_question",
            "is_initial_screening_question", "question", "label")
PHASE1_QUESTION = ("problem", "ground_truth_answer")
PHASE2_QUESTION = ("problem", "ground_truth_solution", "ground_truth_answer", "pre_generated_steps",
                   "pre_generated_answer", "pre_generated_verifier_score")
QUESTION_KEYS = frozenset(PHASE2_QUESTION)
LABEL_KEYS = ("steps", "total_time", "finish_reason")
FINISH_REASONS = ("found_error", "solution", "give_up", "bad_problem")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _expect(cond: bool, field: str, message: str) -> None:
    if not cond:
        raise RecordError(field, message)


def _opt_str(obj: dict, key: str, field: str) -> str | None:
    v = obj.get(key)
    _expect(v is None or isinstance(v, str), field, f"must be a string or null, got {json_type(v)}")
    return v


def _req_str(obj: dict, key: str, field: str) -> str:
    _expect(key in obj, field, "is missing")
    v = obj[key]
    _expect(isinstance(v, str), field, f"must be a string, got {json_type(v)}")
    return v


def format_timestamp(dt: datetime) -> str:
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value, field: str = "timestamp") -> datetime:
    _expect(isinstance(value, str), field, f"must be an ISO 8601 string, got {json_type(value)}")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(field, f"is not an ISO 8601 date-time: {json_value(value)}") from None
    try:
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise RecordError(field, f"is out of range in UTC: {json_value(value)}") from None


def validate_completion(c, field: str, human: bool = False) -> None:
    _expect(isinstance(c, dict), field, f"must be an object, got {json_type(c)}")
    _expect(isinstance(c.get("text"), str), f"{field}.text", f"must be a string, got {json_type(c.get('text'))}")
    rating = c.get("rating")
    _expect(rating is None or (_is_int(rating) and rating in (-1, 0, 1)), f"{field}.rating",
            f"must be -1, 0, 1 or null, got {json_value(rating)}")
    flagged = c.get("flagged")
    _expect(flagged is None or isinstance(flagged, bool), f"{field}.flagged",
            f"must be true, false or null, got {json_value(flagged)}")
    if human:
        _expect(c.get("source", "human") == "human", f"{field}.source", "must be \"human\"")


def _completion_ok(c) -> bool:
    if type(c) is not dict:
        return False
    r, f = c.get("rating"), c.get("flagged")
    return type(c.get("text")) is str and (r is None or (type(r) is int and -1 <= r <= 1)) and (
        f is None or type(f) is bool)


def _step_ok(step) -> bool:
    if type(step) is not dict:
        return False
    comps = step.get("completions")
    if type(comps) is not list or not all(_completion_ok(c) for c in comps):
        return False
    human, chosen = step.get("human_completion"), step.get("chosen_completion")
    if human is not None and not (_completion_ok(human) and human.get("source", "human") == "human"):
        return False
    return chosen is None or (type(chosen) is int and 0 <= chosen < len(comps))


def validate_steps(steps, field: str = "label.steps") -> None:
    # The cheap check passes nearly every real step; the slow one runs only to word the error.
    _expect(isinstance(steps, list), field, f"must be a list, got {json_type(steps)}")
    for i, step in enumerate(steps):
        if not _step_ok(step):
            _explain_step(step, f"{field}[{i}]")


def _explain_step(step, sf: str) -> None:
    _expect(isinstance(step, dict), sf, f"must be an object, got {json_type(step)}")
    comps = step.get("completions")
    _expect(isinstance(comps, list), f"{sf}.completions", f"must be a list, got {json_type(comps)}")
    for j, c in enumerate(comps):
        validate_completion(c, f"{sf}.completions[{j}]")
    human = step.get("human_completion")
    if human is not None:
        validate_completion(human, f"{sf}.human_completion", human=True)
    chosen = step.get("chosen_completion")
    _expect(chosen is None or (_is_int(chosen) and 0 <= chosen < len(comps)), f"{sf}.chosen_completion",
            f"must be null or an index into completions (0..{len(comps) - 1}), got {json_value(chosen)}")
    raise AssertionError(f"{sf}: the fast and the detailed step checks disagree")  # pragma: no cover


def _extras(obj: dict, known) -> dict:
    return {k: v for k, v in obj.items() if k not in known}


def parse_record(rec) -> ImportItem:
    """Validate one PRM800K record and split it into problem, solution and pass."""
    _expect(isinstance(rec, dict), "", f"record must be a JSON object, got {json_type(rec)}")
    for key in TOP_KEYS:
        _expect(key in rec, key, "is missing")
    labeler = rec["labeler"]
    try:
        labeler_uuid = uuid.UUID(labeler) if isinstance(labeler, str) else None
    except ValueError:
        labeler_uuid = None
    _expect(labeler_uuid is not None, "labeler", f"must be a UUID string, got {json_value(labeler, 60)}")
    submitted_at = parse_timestamp(rec["timestamp"])
    generation = rec["generation"]
    _expect(generation is None or (_is_int(generation) and -2**31 <= generation < 2**31), "generation",
            f"must be an integer (32-bit) or null, got {json_value(generation, 40)}")
    for key in ("is_quality_control_question", "is_initial_screening_question"):
        _expect(isinstance(rec[key], bool), key, f"must be true or false, got {json_value(rec[key])}")

    q = rec["question"]
    _expect(isinstance(q, dict), "question", f"must be an object, got {json_type(q)}")
    text = _req_str(q, "problem", "question.problem")
    _expect("ground_truth_answer" in q, "question.ground_truth_answer", "is missing")
    gt_answer = _opt_str(q, "ground_truth_answer", "question.ground_truth_answer")
    gt_solution = _opt_str(q, "ground_truth_solution", "question.ground_truth_solution")
    problem = ProblemIn(key=hashing.problem_hash(text), text=text, ground_truth_answer=gt_answer,
                        ground_truth_solution=gt_solution)

    solution = None
    score = q.get("pre_generated_verifier_score")
    if "pre_generated_steps" in q:
        steps = q["pre_generated_steps"]
        _expect(isinstance(steps, list) and all(isinstance(s, str) for s in steps), "question.pre_generated_steps",
                "must be a list of strings")
        answer = _opt_str(q, "pre_generated_answer", "question.pre_generated_answer")
        _expect(score is None or (isinstance(score, (int, float)) and not isinstance(score, bool)),
                "question.pre_generated_verifier_score", f"must be a number or null, got {json_value(score, 40)}")
        solution = SolutionIn(key=hashing.solution_hash(problem.key, steps, answer), problem_key=problem.key,
                              steps=steps, final_answer=answer, verifier_score=score, generation=generation,
                              is_quality_control=rec["is_quality_control_question"],
                              is_screening=rec["is_initial_screening_question"])

    label = rec["label"]
    _expect(isinstance(label, dict), "label", f"must be an object, got {json_type(label)}")
    for key in LABEL_KEYS:
        _expect(key in label, f"label.{key}", "is missing")
    validate_steps(label["steps"])
    total_time = label["total_time"]
    _expect(total_time is None or (_is_int(total_time) and 0 <= total_time < 2**63), "label.total_time",
            f"must be a non-negative integer (milliseconds, 64-bit) or null, got {json_value(total_time, 40)}")
    reason = label["finish_reason"]
    _expect(reason in FINISH_REASONS, "label.finish_reason",
            f"must be one of {', '.join(FINISH_REASONS)}; got {json_value(reason)}")

    extra = {}
    top = _extras(rec, TOP_KEYS)
    if format_timestamp(submitted_at) != rec["timestamp"]:
        top["timestamp"] = rec["timestamp"]  # keep a non-canonical spelling as written
    question_extra = _extras(q, QUESTION_KEYS)
    known_q = [k for k in q if k in QUESTION_KEYS]
    if known_q != list(PHASE2_QUESTION if solution else PHASE1_QUESTION):
        extra["question_keys"] = known_q
    if solution and score is not None and isinstance(score, int):
        question_extra["pre_generated_verifier_score"] = score  # keep an integer an integer
    label_extra = _extras(label, LABEL_KEYS)
    for name, part in (("top", top), ("question", question_extra), ("label", label_extra)):
        if part:
            extra[name] = part

    solution_key = solution.key if solution else None
    pas = PassIn(key=hashing.pass_identity(str(labeler_uuid), rec["timestamp"], problem.key, solution_key),
                 annotator_uuid=labeler_uuid, problem_key=problem.key, solution_key=solution_key,
                 submitted_at=submitted_at, generation=generation,
                 is_quality_control=rec["is_quality_control_question"],
                 is_screening=rec["is_initial_screening_question"],
                 verifier_score=score, steps=label["steps"], total_time=total_time, finish_reason=reason, extra=extra)
    return ImportItem(problem=problem, solution=solution, passes=[pas])


def build_record(p: dict) -> dict:
    """The PRM800K record of a stored pass.

    `p` holds the pass's values as `labeling.exports.rows.export_rows` yields them; JSON
    columns arrive as text and are embedded unparsed (orjson.Fragment) to keep export fast.
    """
    extra = p["extra"] or {}
    has_solution = p["solution_steps"] is not None
    q_values = {
        "problem": p["problem_text"],
        "ground_truth_solution": p["ground_truth_solution"],
        "ground_truth_answer": p["ground_truth_answer"],
        "pre_generated_steps": orjson.Fragment(p["solution_steps"]) if has_solution else None,
        "pre_generated_answer": p["final_answer"],
        "pre_generated_verifier_score": p["verifier_score"],
    }
    q_keys = extra.get("question_keys") or (PHASE2_QUESTION if has_solution else PHASE1_QUESTION)
    question = {k: q_values[k] for k in q_keys}
    question.update(extra.get("question", {}))
    label = {"steps": orjson.Fragment(p["steps"]), "total_time": p["total_time"], "finish_reason": p["finish_reason"]}
    label.update(extra.get("label", {}))
    record = {
        "labeler": str(p["annotator_uuid"]),
        "timestamp": format_timestamp(p["submitted_at"]),
        "generation": p["generation"],
        "is_quality_control_question": p["is_quality_control"],
        "is_initial_screening_question": p["is_screening"],
        "question": question,
        "label": label,
    }
    record.update(extra.get("top", {}))
    return record


def path_ratings(steps: list) -> list[int | None]:
    """The ratings along a pass's path: the chosen candidate's, +1 for a step the labeller wrote, and
    for a step with neither (a found error ends there) its first candidate's; rated alternatives
    that were not chosen (phase 1) are not on the path."""
    out = []
    for step in steps:
        comps, chosen = step.get("completions") or [], step.get("chosen_completion")
        if chosen is not None and 0 <= chosen < len(comps):
            out.append(comps[chosen].get("rating"))
        elif step.get("human_completion"):
            out.append(1)
        elif comps:
            out.append(comps[0].get("rating"))
            break
        else:
            break
    return out


def first_error(steps: list) -> int:
    """Index of the first step rated -1 on a pass's path, -1 if none."""
    return next((i for i, r in enumerate(path_ratings(steps)) if r == -1), -1)


def pass_first_error(steps: list, finish_reason: str) -> int | None:
    """LabeledPass.first_error: where the labeller found the first error (-1: a `solution` pass, none),
    or None for a pass that ended otherwise (given up, a bad problem: nothing is known past it)."""
    if finish_reason not in ("found_error", "solution"):
        return None
    return first_error(steps)
