"""Which automatic labels count (read side), shared by training (activelearn.prm.label_mix) and the
step-label exports: a solution's newest readable labels per source (a judge's malformed answer is
no label), and the consensus of a rollout-family source with a judge (the same first error, as the
Qwen2.5-Math-PRM work filters Monte-Carlo labels)."""
from django.db.models import Exists, OuterRef, QuerySet

from labeling.models import LabeledPass, LabelSource, StepLabels

HUMAN, CONSENSUS = "human", "consensus"
ROLLOUT_FAMILY = (LabelSource.ROLLOUT, LabelSource.FIRST_ERROR)


def readable(sources) -> QuerySet:
    return StepLabels.objects.filter(run__source__in=list(sources), malformed=False, hard__isnull=False)


def newest(sources) -> QuerySet:
    """Each solution's newest readable labels of each of `sources`."""
    newer = readable(sources).filter(solution=OuterRef("solution"), run__source=OuterRef("run__source"),
                                     id__gt=OuterRef("id"))
    return readable(sources).exclude(Exists(newer))


def suggestion_for(solution_id: int, source: str) -> dict | None:
    """The solution's newest readable labels of `source`, as the labelling page suggests them: {source, run,
    labels} (None: that source has not labelled it)."""
    row = readable([source]).filter(solution_id=solution_id).order_by("-id").values("hard", "run__key").first()
    return {"source": source, "run": row["run__key"], "labels": row["hard"]} if row else None


def consensus(*, without_people: bool = False) -> QuerySet:
    """Rollout-family labels whose first error the newest judge label names too, one per solution
    (the newest); `without_people`: only on solutions no person has labelled."""
    judged = newest([LabelSource.JUDGE]).filter(solution=OuterRef("solution"), first_error=OuterRef("first_error"))
    agreeing = newest(ROLLOUT_FAMILY).filter(Exists(judged))
    later = agreeing.filter(solution=OuterRef("solution"), id__gt=OuterRef("id"))
    qs = agreeing.exclude(Exists(later))
    if without_people:
        qs = qs.exclude(Exists(LabeledPass.objects.filter(solution=OuterRef("solution"))))
    return qs
