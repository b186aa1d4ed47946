"""The demo agent checker's labels of traces already stored (a round's fresh samples): every assistant turn
labelled from the trace's text alone (labeling.demo.agent.label_turns), as automatic labels of the source
`imported`, the source of the seed's checker labels (labeling.demo.agent_seed), so that a PRM trained on that
source learns from both. Only traces of demo problems (`Problem.extra["demo"]`: the checker needs the
problem's known numbers); one row per (run, trace), so labelling again adds nothing."""
from labeling.demo import agent
from labeling.demo.agent_seed import VERSION
from labeling.demo.problems import known_values, spec_of
from labeling.models import AutoLabelRun, LabelSource, RunStatus, StepLabels
from labeling.storage import keyed

MODEL = "labeling.demo.agent.label_turns"


def _run(key: str, project: int, generation: int | None, n: int) -> AutoLabelRun:
    return keyed.once(AutoLabelRun, key, lambda: AutoLabelRun.objects.create(
        key=key, source=LabelSource.IMPORTED, labeller_version=VERSION, model=MODEL, project_id=project,
        generation=generation, solutions=n, status=RunStatus.SUCCEEDED, params={"checker": MODEL}))


def label_traces(key: str, solutions, *, project: int, generation: int | None = None) -> dict:
    """The checker's labels of the traces among `solutions` (a queryset) whose problem is a demo problem, in the
    run `key`. Counts: labelled (new rows), with_error (a -1 among them), skipped (not a demo trace)."""
    traces = list(solutions.filter(extra__has_key="trajectory", problem__extra__has_key="demo")
                  .select_related("problem").order_by("id"))
    counts = {"labelled": 0, "with_error": 0, "skipped": solutions.count() - len(traces)}
    if not traces:
        return counts
    run = _run(key, project, generation, len(traces))
    done = set(StepLabels.objects.filter(run=run).values_list("solution_id", flat=True))
    rows = []
    for s in traces:
        if s.pk in done:
            continue
        hard = agent.label_turns(s.extra["trajectory"], known_values(*spec_of(s.problem.extra["demo"])))
        first = next((i for i, v in enumerate(hard) if v == -1), -1)
        rows.append(StepLabels(run=run, solution=s, n_steps=len(s.steps), hard=hard, first_error=first,
                               detail={"checker": MODEL}))
        counts["with_error"] += first >= 0
    made = StepLabels.objects.bulk_create(rows, ignore_conflicts=True)
    counts["labelled"] = len(made)
    AutoLabelRun.objects.filter(pk=run.pk).update(solutions=StepLabels.objects.filter(run=run).count())
    return counts
