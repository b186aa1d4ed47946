"""Which automatic labels count (read side), shared by training (activelearn.prm.label_mix) and the
step-label exports: a solution's newest readable labels per source (a judge's malformed answer is
no label), and the consensus of a rollout-family source with a judge (the same first error, as the
Qwen2.5-Math-PRM work filters Monte-Carlo labels)."""
from django.db.models import Exists, OuterRef, QuerySet

from labeling.models import SUGGESTION_SOURCES, AutoLabelRun, LabeledPass, LabelSource, StepLabels

HUMAN, CONSENSUS = "human", "consensus"
ROLLOUT_FAMILY = (LabelSource.ROLLOUT, LabelSource.FIRST_ERROR)


def readable(sources) -> QuerySet:
    return StepLabels.objects.filter(run__source__in=list(sources), malformed=False, hard__isnull=False)


def newest(sources) -> QuerySet:
    """Each solution's newest readable labels of each of `sources`."""
    newer = readable(sources).filter(solution=OuterRef("solution"), run__source=OuterRef("run__source"),
                                     id__gt=OuterRef("id"))
    return readable(sources).exclude(Exists(newer))


def is_run_source(source: str) -> bool:
    """Whether a project's suggestion source names one run (an imported labeller's, `imported:...`) rather than
    a source (the newest labels of any of its runs)."""
    return ":" in source


def suggestion_choices(project_id: int | None) -> list[tuple[str, str]]:
    """What a project may suggest from: the sources, and each of its imported runs (a labeller's file, e.g. a
    model's AgentProcessBench labels of traces)."""
    runs = [] if project_id is None else AutoLabelRun.objects.filter(
        project_id=project_id, source=LabelSource.IMPORTED).order_by("key").values_list("key", "model")
    return [*SUGGESTION_SOURCES, *((key, f"Imported labels: {model or key}") for key, model in runs)]


def suggestion_for(solution_id: int, source: str) -> dict | None:
    """The solution's newest readable labels of `source` (a source's name, or one run's key), as the labelling
    page suggests them: {source, run, labels, and on a trace the labeller's outcome `final_label` when it gave
    one} (None: that source has not labelled it)."""
    rows = (StepLabels.objects.filter(run__key=source, malformed=False, hard__isnull=False)
            if is_run_source(source) else readable([source]))
    row = rows.filter(solution_id=solution_id).order_by("-id").values("hard", "run__key", "detail").first()
    if row is None:
        return None
    found = {"source": source, "run": row["run__key"], "labels": row["hard"]}
    if (row["detail"] or {}).get("final_label") is not None:
        found["final_label"] = row["detail"]["final_label"]
    return found


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
