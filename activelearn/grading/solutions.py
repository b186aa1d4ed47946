"""Grading stored solutions: their final answers against the problem's reference, cached on the row."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from activelearn.grading.answers import Inline, answers_match, clean_answer, extract_final_answer
from activelearn.grading.worker_pool import (
    DEFAULT_TIMEOUT,
    _get_pool,
)

CHUNK_SIZE = 500


def gradable_solutions(queryset=None, *, force: bool = False):
    """The solutions of `queryset` (default: all) that `grade_solutions` would look at, in id order.

    Those whose problem has a ground-truth answer; without `force`, only those with no verdict
    yet (neither `answer_graded_at` nor a verdict from the source data or a person).
    """
    from labeling.models import Solution

    qs = Solution.objects.all() if queryset is None else queryset
    qs = qs.filter(problem__ground_truth_answer__isnull=False).exclude(problem__ground_truth_answer="")
    if not force:
        qs = qs.filter(answer_is_correct__isnull=True, answer_graded_at__isnull=True)
    return qs.order_by("pk")


def grade_solutions(
    queryset=None,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> dict:
    """Grade final answers of `queryset` (default: all solutions) against their problem's reference.

    A solution is graded when its problem has a ground-truth answer; its answer is
    `Solution.final_answer`, else the one extracted from its last step. A verdict sets
    `answer_is_correct` and stamps `answer_graded_at`. Without `force`, solutions already
    graded (`answer_graded_at` set) and verdicts from the source data or a person
    (`answer_is_correct` set, `answer_graded_at` null) are skipped. Solutions with no answer,
    or whose answers could not be compared (unparseable, timed out), count as ungradable and
    are left as they were, so a later run tries them again.

    Rows are read and written in chunks of `chunk_size` ids (keyset pagination, bulk_update
    in a transaction), so memory stays flat; identical (answer, reference) pairs are compared
    once; `workers` comparisons run at once. `progress(n)` is called with the number of
    solutions looked at so far. Returns counts: graded (= correct + wrong), correct, wrong,
    ungradable, skipped (not looked at: already graded, graded by the source, no reference).
    """
    from django.db import transaction
    from django.db.models import Q
    from django.utils import timezone

    from labeling.models import Solution

    total = (Solution.objects.all() if queryset is None else queryset).count()
    todo = gradable_solutions(queryset, force=force).select_related("problem").only(
        "id", "steps", "final_answer", "answer_is_correct", "answer_graded_at", "problem__ground_truth_answer"
    )
    counts = {"graded": 0, "correct": 0, "wrong": 0, "ungradable": 0, "skipped": 0}
    cache: dict[tuple[str, str], bool | None] = {}
    seen = 0
    last_pk = None
    _get_pool(workers)
    with ThreadPoolExecutor(max_workers=workers) if workers > 1 else Inline() as executor:
        while True:
            chunk = list((todo if last_pk is None else todo.filter(pk__gt=last_pk))[:chunk_size])
            if not chunk:
                break
            last_pk = chunk[-1].pk
            answers = {s.pk: _solution_answer(s) for s in chunk}
            new = list({(a, s.problem.ground_truth_answer) for s in chunk if (a := answers[s.pk]) is not None}
                       - cache.keys())
            for pair, verdict in zip(new, executor.map(lambda p: answers_match(*p, timeout=timeout), new), strict=True):
                cache[pair] = verdict
            now = timezone.now()
            changed = []
            for s in chunk:
                a = answers[s.pk]
                verdict = None if a is None else cache[(a, s.problem.ground_truth_answer)]
                if verdict is None:
                    counts["ungradable"] += 1
                    continue
                counts["graded"] += 1
                counts["correct" if verdict else "wrong"] += 1
                s.answer_is_correct = verdict
                s.answer_graded_at = now
                changed.append(s)
            if changed:
                with transaction.atomic():
                    if not force:  # keep a verdict a person gave while this chunk was being compared
                        keep = set(
                            Solution.objects.filter(pk__in=[s.pk for s in changed])
                            .filter(Q(answer_is_correct__isnull=True) | Q(answer_graded_at__isnull=False))
                            .values_list("pk", flat=True)
                        )
                        changed = [s for s in changed if s.pk in keep]
                    Solution.objects.bulk_update(changed, ["answer_is_correct", "answer_graded_at"])
            seen += len(chunk)
            if progress is not None:
                progress(seen)
            if len(cache) > 100_000:
                cache.clear()
    counts["skipped"] = total - seen
    return counts


def _solution_answer(solution) -> str | None:
    if solution.final_answer and solution.final_answer.strip():
        return clean_answer(solution.final_answer) or None
    steps = solution.steps if isinstance(solution.steps, list) else []
    return extract_final_answer(steps)
