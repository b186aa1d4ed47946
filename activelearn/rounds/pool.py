"""What a round selects from, and the fresh solutions its generate stage added (they validate its PRM)."""

from django.db.models import Exists, OuterRef, Q

from activelearn.models import GeneratedSample, Round, RoundSelection
from labeling.models import LabeledPass, Solution


def pool(r: Round | None = None):
    """Candidates: solutions of the round's project nobody labelled, not screening or QC, and not queued, except
    by this round itself (so that re-running a stage sees the same pool and picks the same)."""
    labelled = LabeledPass.objects.filter(solution=OuterRef("pk"))
    mine = RoundSelection.objects.filter(round=r, solution=OuterRef("pk")) if r is not None else None
    free = Q(queue_entry__isnull=True) | Exists(mine) if mine is not None else Q(queue_entry__isnull=True)
    qs = Solution.objects.filter(free, is_screening=False, is_quality_control=False).exclude(Exists(labelled))
    return qs.filter(project_id=r.project_id) if r is not None else qs


def fresh_solution_ids(r: Round) -> list[int]:
    """The solutions the round's generate stage produced (new or duplicates), for validation."""
    return list(GeneratedSample.objects.filter(run__round=r, solution__isnull=False).order_by("id")
                .values_list("solution_id", flat=True).distinct())
