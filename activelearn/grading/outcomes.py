"""Grading final answers by the project's outcome checker (activelearn.grading.checkers), cached on the row as
math grading does (Solution.answer_is_correct, answer_graded_at), so convincing-wrong selection and best-of-N
read it the same way. An agent trace's accepted answers are its `ground_truth` (HotpotQA's `target` list);
its outcome is the `reward_info.reward` the file carried."""
from __future__ import annotations

from collections.abc import Callable

from activelearn.grading import checkers
from activelearn.grading.answers import clean_answer, extract_final_answer
from labeling.formats import trajectories

CHUNK_SIZE = 200


def checker_of(project) -> dict:
    return checkers.validate(project.outcome_checker or {})


def _accepted(solution) -> list[str]:
    trace = (solution.extra or {}).get("trajectory")
    if isinstance(trace, dict) and trace.get("ground_truth") is not None:
        found = trajectories.accepted_answers(trace["ground_truth"])
        if found:
            return found
    gt = solution.problem.ground_truth_answer
    return [gt] if gt else []


def _reward(solution) -> float | None:
    trace = (solution.extra or {}).get("trajectory")
    try:
        return trajectories.outcome(trace) if isinstance(trace, dict) else None
    except ValueError:
        return None


def _answer(solution) -> str | None:
    if solution.final_answer and solution.final_answer.strip():
        return clean_answer(solution.final_answer) or solution.final_answer.strip()
    return extract_final_answer(solution.steps if isinstance(solution.steps, list) else [])


def grade_outcomes(project, queryset=None, *, force: bool = False, judge: Callable | None = None,
                   progress: Callable[[int], None] | None = None) -> dict:
    """Grade the project's solutions (of `queryset`) by its checker. Without `force`, solutions already graded
    and verdicts that came with the data or from a person are left alone (an imported trace's reward is such a
    verdict: `force` regrades it by the checker). Counts: graded, correct, wrong, ungradable, skipped."""
    from django.db import transaction
    from django.utils import timezone

    from labeling.models import Solution

    config = checker_of(project)
    qs = (Solution.objects.all() if queryset is None else queryset).filter(project_id=project.pk)
    total = qs.count()
    if not force:
        qs = qs.filter(answer_is_correct__isnull=True, answer_graded_at__isnull=True)
    counts = {"graded": 0, "correct": 0, "wrong": 0, "ungradable": 0, "skipped": 0}
    seen, last = 0, 0
    while True:
        chunk = list(qs.filter(pk__gt=last).select_related("problem").order_by("pk")[:CHUNK_SIZE])
        if not chunk:
            break
        last = chunk[-1].pk
        now, changed = timezone.now(), []
        for s in chunk:
            verdict = checkers.check(config, _answer(s), _accepted(s), reward=_reward(s), judge=judge)
            if verdict is None:
                counts["ungradable"] += 1
                continue
            counts["graded"] += 1
            counts["correct" if verdict else "wrong"] += 1
            s.answer_is_correct, s.answer_graded_at = verdict, now
            changed.append(s)
        with transaction.atomic():
            Solution.objects.bulk_update(changed, ["answer_is_correct", "answer_graded_at"])
        seen += len(chunk)
        if progress:
            progress(seen)
    counts["skipped"] = total - seen
    return counts
