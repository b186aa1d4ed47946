"""The limits a parsed import item is held to, whatever its format: what the labelling can take. A solution or a
pass of more steps than the submit takes (MAX_SOLUTION_STEPS) could never be labelled to its end, and a step with
more candidates than IMPORT_MAX_ALTERNATIVES could not be shown or rated; both are refused naming the field."""
from django.conf import settings

from labeling.formats import limits
from labeling.formats.errors import RecordError
from labeling.formats.items import ImportItem


def _steps_field(rec) -> str:
    question = rec.get("question") if isinstance(rec, dict) else None
    if isinstance(question, dict) and "pre_generated_steps" in question:
        return "question.pre_generated_steps"
    if isinstance(rec, dict) and "steps" not in rec and "solution" in rec:
        return "solution"
    return "steps" if isinstance(rec, dict) and "steps" in rec else "input"


def within_limits(rec, item: ImportItem) -> ImportItem:
    """`item` (parsed from `rec`), or a RecordError naming the first field over a limit."""
    cap, alternatives = limits.max_steps(), settings.IMPORT_MAX_ALTERNATIVES
    solution = item.solution
    if solution is not None:
        if len(solution.steps) > cap:
            raise RecordError(_steps_field(rec), limits.steps_message(len(solution.steps)))
        for k, texts in (solution.extra.get("alternatives") or {}).items():
            if isinstance(texts, list) and len(texts) > alternatives:
                raise RecordError(f"alternatives.{k}", f"has {len(texts)} alternatives, more than the limit of "
                                                       f"{alternatives} (IMPORT_MAX_ALTERNATIVES)")
    for p in item.passes:
        if len(p.steps) > cap:
            raise RecordError("label.steps", limits.steps_message(len(p.steps)))
        for k, step in enumerate(p.steps):
            completions = step.get("completions") if isinstance(step, dict) else None
            if isinstance(completions, list) and len(completions) > alternatives + 1:
                raise RecordError(f"label.steps[{k}].completions",
                                  f"has {len(completions)} candidates, more than the limit of {alternatives + 1} "
                                  "(IMPORT_MAX_ALTERNATIVES and the step itself)")
    for a in item.auto_labels:
        if len(a.hard) > cap:
            raise RecordError("label", limits.steps_message(len(a.hard)))
    return item
