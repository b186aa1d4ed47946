"""Automatic-label runs: which solutions, which labeller, one StepLabels row per (run, solution).

A run fixes its plan when it starts (the solution ids), so a resumed run or a redelivered chunk
labels only what is missing; a row is written once (unique), so nothing is labelled twice. The
cost (requests, rollouts, tokens, seconds) is added to the run as each chunk finishes.

The run itself (made once, what is missing, chunks, cost, finish, summary) is activelearn/runs.py's;
`LabelRuns` says what differs: a unit of work is a solution, and a run whose every request failed
did not succeed.
"""
import hashlib
import json
from collections.abc import Iterable

from celery import current_app
from django.db import transaction
from django.db.models import Count, Q

from activelearn import runs
from activelearn.labellers import methods, trajectory_judge
from activelearn.labellers.completers import DemoCompleter, PolicyCompleter
from activelearn.labellers.judges import PROMPT_VERSION, DemoJudge, PolicyJudge
from activelearn.policy import connection
from activelearn.policy.client import PolicyError, PolicyUnavailable
from activelearn.policy.samples import Usage
from labeling.models import DEFAULT_PROJECT_ID, AuditAction, AutoLabelRun, LabeledPass, RunStatus, Solution, StepLabels
from labeling.people import audit

SOURCES = ("rollout", "first_error", "judge", "prm")
RUN_JOB = "activelearn.tasks.auto_label_job"  # the task a run started through the API is sent as
DEFAULTS = {"connection": "demo", "k": 8, "attempts": 1, "verdicts": False, "threshold": 0.5}


def send(run: AutoLabelRun) -> None:
    """Queue the run on the workers once its row is committed (by name: activelearn.celery_tasks)."""
    transaction.on_commit(lambda: current_app.tasks[RUN_JOB].delay(run.pk))


def plan(filters: dict, project: int = DEFAULT_PROJECT_ID) -> list[int]:
    """Solution ids of `project`: `ids`, or those of a generation run (`run`), those with human passes
    (`labelled`), those whose problem's source id starts with `source`; at most `cap`."""
    qs = Solution.objects.filter(is_screening=False, project_id=project)
    if filters.get("ids"):
        qs = qs.filter(id__in=filters["ids"])
    if filters.get("run"):
        qs = qs.filter(samples__run__key=filters["run"])
    if filters.get("labelled"):
        qs = qs.filter(id__in=LabeledPass.objects.filter(first_error__isnull=False).values("solution_id"))
    if filters.get("source"):
        qs = qs.filter(problem__source_id__startswith=filters["source"])
    ids = qs.order_by("id").values_list("id", flat=True).distinct()
    cap = filters.get("cap")
    return list(ids[:cap] if cap else ids)


def run_key(source: str, params: dict, filters: dict, project) -> str:
    """The name a run gets when none is given: from its options (the same request resumes it), and its project
    when not the default one (a run name is taken in one project only)."""
    scope = [project.slug] if project.pk != DEFAULT_PROJECT_ID else []
    digest = hashlib.sha256(json.dumps([params, filters, *scope], sort_keys=True).encode()).hexdigest()[:12]
    return f"{source}-{digest}"


def taken_elsewhere(key: str, project) -> bool:
    return AutoLabelRun.objects.filter(key=key).exclude(project=project).exists()


def labeller_params(source: str, params: dict) -> dict:
    p = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
    if source not in SOURCES:
        raise connection.ConnectionConfigError("source", f"must be one of {', '.join(SOURCES)}")
    for key, lo in (("k", 1), ("attempts", 1)):
        if not isinstance(p[key], int) or isinstance(p[key], bool) or not lo <= p[key] <= 256:
            raise connection.ConnectionConfigError(key, "must be an integer from 1 to 256")
    if not isinstance(p["threshold"], int | float) or not 0 <= p["threshold"] <= 1:
        raise connection.ConnectionConfigError("threshold", "must be a number from 0 to 1")
    return p


def start_run(key: str, source: str, params: dict, filters: dict, *, generation=None, user=None,
              project: int = DEFAULT_PROJECT_ID) -> AutoLabelRun:
    """The run `key` (made if new): labels of the solutions of `project` that `filters` plan."""
    def make() -> AutoLabelRun:
        p = labeller_params(source, params)
        model = _model_of(source, p, project)
        ids = plan(filters, project)
        run = AutoLabelRun.objects.create(
            key=key, source=source, labeller_version=methods.VERSIONS[source], model=model[:255],
            params={**p, "filters": filters, "solution_ids": ids}, solutions=len(ids), generation=generation,
            created_by=user, project_id=project)
        # the connection's public part only (never a key: there is none stored), and not the id list
        audit.record(user, AuditAction.LABELS_RUN, run, source=source, labeller_version=run.labeller_version,
                     model=run.model, solutions=len(ids), generation=generation,
                     params=p, filters={k: (len(v) if k == "ids" else v) for k, v in filters.items()})
        return run

    return RUNS.start(key, make)


def _model_of(source: str, params: dict, project: int) -> str:
    """The model that labels, by name; the connection's public part or the PRM version go into `params`."""
    model = ""
    if source in ("rollout", "first_error", "judge"):
        conn = connection.resolve(params["connection"], params.get("overrides"), project=project)
        params["connection_settings"] = conn.public()
        model = {"judge": DemoJudge.name, **dict.fromkeys(("rollout", "first_error"), DemoCompleter.name)}[source] \
            if conn.is_demo else conn.model
    if source == "judge":
        params["prompt"] = PROMPT_VERSION  # a trace is asked with the trajectory prompt (each label says which)
        params["trace_prompt"] = trajectory_judge.PROMPT_VERSION
    if source == "prm":
        from activelearn.prm.registry import active_version

        version = active_version(project=project)
        if version is None:
            raise connection.ConnectionConfigError("source", "prm labels need an active PRM in the project: "
                                                             "train one first")
        params["model_version"] = version.pk
        model = f"prm-v{version.pk}"
    return model


class LabelRuns(runs.Runs):
    """A unit of work is a solution of the plan: one StepLabels row each."""

    model = AutoLabelRun
    cost_fields = ("rollouts", *runs.COST_FIELDS)

    def missing(self, run: AutoLabelRun, ids: Iterable[int] | None = None) -> list[int]:
        ids = list(ids if ids is not None else run.params["solution_ids"])
        done = set(StepLabels.objects.filter(run=run, solution_id__in=ids).values_list("solution_id", flat=True))
        return [i for i in ids if i not in done]

    def total(self, run: AutoLabelRun) -> int:
        return run.solutions

    def figures(self, run: AutoLabelRun) -> dict:
        agg = StepLabels.objects.filter(run=run).aggregate(
            labelled=Count("id"), malformed=Count("id", filter=Q(malformed=True)),
            with_error=Count("id", filter=Q(first_error__gte=0)))
        return {"source": run.source, "labeller_version": run.labeller_version, "model": run.model,
                "solutions": run.solutions, **agg}

    def settle(self, run: AutoLabelRun, status: str, error: str) -> tuple[str, str]:
        """A run whose every request failed did not succeed, whatever its caller thought (each solution has a
        `refused` reason in its labels)."""
        if status == RunStatus.SUCCEEDED:
            requests, failed = AutoLabelRun.objects.filter(pk=run.pk).values_list("requests", "failed_requests").get()
            if requests and failed >= requests:
                return RunStatus.FAILED, (f"every request to the policy server failed ({failed} of {requests}): the "
                                          "labels' details say why (refused)")
        return status, error


RUNS = LabelRuns()


def _labeller(run: AutoLabelRun):
    """(label_all, meter): labels for a list of solutions, and what the requests made for them cost
    since the meter was last read (every request, failed ones too)."""
    p = run.params
    if run.source == "prm":
        from activelearn.models import ModelVersion
        from activelearn.prm import loading

        rm = loading.load(ModelVersion.objects.get(pk=p["model_version"]).path)

        def label_all(solutions):
            scored = rm.score([(s.problem.text, s.steps) for s in solutions])
            return [methods.prm(s, steps, p["threshold"]) for s, (_, steps) in zip(solutions, scored, strict=True)]

        return label_all, Usage
    conn = connection.resolve(p["connection"], p.get("overrides"), project=run.project_id)
    if run.source == "judge":
        judge = DemoJudge(run.key) if conn.is_demo else PolicyJudge(conn)
        meter = Usage if conn.is_demo else judge.client.take
        return (lambda sols: [_refusable(methods.judge, s, judge, p["attempts"], p["verdicts"]) for s in sols]), meter
    completer = DemoCompleter(run.key) if conn.is_demo else PolicyCompleter(conn)
    method = methods.rollouts if run.source == "rollout" else methods.first_error_search
    meter = Usage if conn.is_demo else completer.client.take
    return (lambda sols: [_refusable(method, s, completer, p["k"]) for s in sols]), meter


def _refusable(method, solution, *args) -> methods.Labelled:
    """A request the server refuses for this solution (HTTP 4xx: e.g. a prompt beyond the model's
    context) leaves it without a label, with the reason; a server that is away fails the chunk, to
    be resumed (PolicyUnavailable)."""
    try:
        return method(solution, *args)
    except PolicyUnavailable:
        raise
    except PolicyError as exc:
        return methods.Labelled(None, None, None, malformed=True, attempts=0, detail={"refused": str(exc)[:500]})


def run_chunk(run: AutoLabelRun, solution_ids: list[int], *, alive=None) -> int:
    """Label the solutions of `solution_ids` that have no label of this run yet; returns how many."""
    todo = RUNS.missing(run, solution_ids)
    solutions = list(Solution.objects.filter(id__in=todo).select_related("problem").order_by("id"))
    (label_all, meter), written = _labeller(run), 0
    for i in range(0, len(solutions), 8):
        batch = solutions[i:i + 8]
        try:
            labelled = label_all(batch)
        except BaseException:  # the server went away: what was asked of it still counts
            RUNS.add_cost(run, meter())
            raise
        rows = [StepLabels(run=run, solution=s, n_steps=len(s.steps), hard=lab.hard, soft=lab.soft,
                           first_error=lab.first_error, malformed=lab.malformed, attempts=lab.attempts,
                           rollouts=lab.rollouts, detail=lab.detail) for s, lab in zip(batch, labelled, strict=True)]
        with transaction.atomic():
            made = StepLabels.objects.bulk_create(rows, ignore_conflicts=True)
            RUNS.add_cost(run, meter(), rollouts=sum(r.rollouts for r in rows))
        written += len(made)
        if alive:
            alive()
    return written
