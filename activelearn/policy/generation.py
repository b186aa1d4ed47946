"""Generating candidate solutions: a run's plan, its chunks, and what each sample becomes.

A run (activelearn.models.GenerationRun) fixes its plan when it starts: which problems (the
filter, frozen as a list of ids, so a resumed run asks for the same ones even though generating
changes how many candidates each has) and how many samples per problem. Sample k of problem p
in run r is one row (unique), written with the solution it made in one transaction, so a crash,
a redelivered chunk or a resume asks only for what is missing and never stores a sample twice.

Each sample is split into steps by the connection's rule (an agent's trace, which the demo policy writes in a
project of traces, is kept as an import keeps it: splitting.split_trace); an empty, truncated or over-long one is
dropped with its reason; the rest is a Solution, deduplicated by content (an identical sample is
the same Solution), with its provenance (connection, model, sampling, prompt version, run, round,
sample index) in `Solution.extra["provenance"]`, and graded by the project's outcome checker.

The run itself (made once, what is missing, chunks, cost, finish, summary) is activelearn/runs.py's;
`GenerationRuns` says what differs: a unit of work is a problem, holding its missing samples.
"""
from collections import Counter
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models import Count, Q

from activelearn import runs
from activelearn.grading.outcomes import checker_of, grade_outcomes
from activelearn.grading.solutions import grade_solutions
from activelearn.models import GeneratedSample, GenerationRun
from activelearn.policy import demo, splitting
from activelearn.policy.client import PolicyClient
from activelearn.policy.connection import Connection
from activelearn.policy.samples import ProblemSamples
from labeling.models import DEFAULT_PROJECT_ID, Problem, Project, Solution
from labeling.storage.bulk import among, insert_rows
from labeling.storage.hashing import solution_hash

FILTERS = ("subject", "level", "source", "fewer_than", "problem_cap")


def plan(filters: dict, project: int = DEFAULT_PROJECT_ID) -> list[int]:
    """Problem ids of `project` to sample for: all, or those of a subject / level / source id prefix, or with
    fewer than `fewer_than` candidate solutions; at most `problem_cap` (lowest ids first)."""
    qs = Problem.objects.filter(project_id=project)
    if filters.get("subject"):
        qs = qs.filter(subject=filters["subject"])
    if filters.get("level") is not None:
        qs = qs.filter(level=filters["level"])
    if filters.get("source"):
        qs = qs.filter(source_id__startswith=filters["source"])
    if filters.get("fewer_than") is not None:
        qs = qs.annotate(n=Count("solutions", filter=Q(solutions__is_screening=False,
                                                     solutions__is_quality_control=False))) \
            .filter(n__lt=filters["fewer_than"])
    ids = qs.order_by("id").values_list("id", flat=True)
    cap = filters.get("problem_cap")
    return list(ids[:cap] if cap else ids)


class GenerationRuns(runs.Runs):
    """A unit of work is a problem of the plan; it holds `samples_per_problem` samples."""

    model = GenerationRun

    def missing(self, run: GenerationRun, problem_ids: Iterable[int] | None = None) -> dict[int, list[int]]:
        """Per problem of the plan (or of `problem_ids`), the sample indices not yet stored."""
        wanted = run.config["samples_per_problem"]
        ids = list(problem_ids if problem_ids is not None else run.config["problem_ids"])
        have: dict[int, set[int]] = {}
        stored = GeneratedSample.objects.filter(run=run, problem_id__in=ids)
        for pid, index in stored.values_list("problem_id", "index"):
            have.setdefault(pid, set()).add(index)
        out = {}
        for pid in ids:
            todo = [k for k in range(wanted) if k not in have.get(pid, ())]
            if todo:
                out[pid] = todo
        return out

    def total(self, run: GenerationRun) -> int:
        return run.samples_wanted

    def left(self, todo: dict[int, list[int]]) -> int:
        return sum(map(len, todo.values()))

    def figures(self, run: GenerationRun) -> dict:
        outcomes = dict(GeneratedSample.objects.filter(run=run).values_list("outcome").annotate(n=Count("id")))
        return {"connection": run.connection, "problems": run.problems, "samples_wanted": run.samples_wanted,
                "samples": sum(outcomes.values()),
                "outcomes": {o: outcomes.get(o, 0) for o in GeneratedSample.Outcome.values}}


RUNS = GenerationRuns()


def start_run(key: str, conn: Connection, samples_per_problem: int, filters: dict, *, round=None,
              user=None, project: int = DEFAULT_PROJECT_ID) -> GenerationRun:
    """The run called `key`, made with its frozen plan the first time (later: as it was made), for the problems
    of `project`; what it samples goes into that project."""
    def make() -> GenerationRun:
        problem_ids = plan(filters, project)
        config = {"connection": conn.public(), "samples_per_problem": samples_per_problem,
                  "filters": {k: filters.get(k) for k in FILTERS}, "problem_ids": problem_ids}
        return GenerationRun.objects.create(key=key, round=round, connection=conn.name, config=config,
                                            problems=len(problem_ids),
                                            samples_wanted=len(problem_ids) * samples_per_problem,
                                            created_by=user, project_id=project)

    return RUNS.start(key, make)


def _provenance(run: GenerationRun, conn: Connection, index: int) -> dict:
    c = conn.public()
    return {"run": run.key, "round": run.round.generation if run.round_id else None, "sample": index,
            "connection": conn.name, "model": c["model"] or demo.NAME, "endpoint": c["endpoint"],
            "prompt": c["prompt"], "prompt_digest": c["prompt_digest"], "few_shot": c["few_shot"],
            "temperature": c["temperature"], "top_p": c["top_p"], "max_tokens": c["max_tokens"],
            "seed": c["seed"] + index if c["seed"] is not None else None, "split": c["split"]}


def _lock(run: GenerationRun, problem_id: int) -> None:
    # Two deliveries of one chunk write one problem's samples one after the other (PostgreSQL;
    # SQLite writes one transaction at a time anyway).
    if db.vendor == "postgresql":
        with db.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [run.pk % 2**31, problem_id % 2**31])


def store(run: GenerationRun, conn: Connection, problem: Problem, got: ProblemSamples) -> tuple[Counter, list[int]]:
    """Write one problem's samples (those not stored meanwhile): outcomes counted, new solution ids."""
    outcomes, new_ids = Counter(), []
    with transaction.atomic():
        _lock(run, problem.pk)
        stored = set(GeneratedSample.objects.filter(run=run, problem=problem).values_list("index", flat=True))
        todo = []
        for index, sampled in sorted(got.samples.items()):
            if index not in stored:
                todo.append((index, sampled, splitting.split_trace(sampled.trace) if sampled.trace is not None
                              else splitting.split(sampled.text, conn.split, conn.split_pattern,
                                                   max_steps=conn.max_steps, max_step_chars=conn.max_step_chars,
                                                   finish_reason=sampled.finish_reason)))
        made = _solutions(run, conn, problem, [(i, r, s.truth) for i, s, r in todo
                                               if not isinstance(r, splitting.Dropped)])
        rows = []
        for index, sampled, result in todo:
            solution_id, outcome = None, str(result) if isinstance(result, splitting.Dropped) else None
            if outcome is None:
                solution_id, created = made[index]
                outcome = GeneratedSample.Outcome.KEPT if created else GeneratedSample.Outcome.DUPLICATE
                if created:
                    new_ids.append(solution_id)
            outcomes[outcome] += 1
            rows.append(GeneratedSample(run=run, problem=problem, index=index, outcome=outcome,
                                        solution_id=solution_id, finish_reason=sampled.finish_reason or "",
                                        completion_tokens=sampled.completion_tokens))
        GeneratedSample.objects.bulk_create(rows)
    return outcomes, new_ids


def _solutions(run, conn, problem, samples: list) -> dict[int, tuple[int, bool]]:
    """Sample index -> (solution id, whether this sample created it), for (index, split, truth) samples,
    written through the import's bulk path (labeling.storage.bulk): one lookup, one COPY. An identical text
    sampled elsewhere at this moment makes the COPY fail: then one sample at a time."""
    keys = {i: _key(problem, r) for i, r, _ in samples}
    found = dict(Solution.objects.filter(among("content_hash", set(keys.values())), project_id=problem.project_id)
                 .values_list("content_hash", "id"))
    new, first = [], {}
    for index, result, truth in samples:
        key = keys[index]
        if key in found or key in first:
            continue
        first[key] = index
        new.append(_row(run, conn, problem, index, result, truth, key))
    try:
        with transaction.atomic():
            ids = insert_rows(Solution, new)
    except IntegrityError:
        return {i: _one_solution(run, conn, problem, i, r, truth) for i, r, truth in samples}
    created = dict(zip((row["content_hash"] for row in new), ids, strict=True))
    out = {}
    for index, _, _ in samples:
        key = keys[index]
        out[index] = (created[key], True) if first.get(key) == index else (found.get(key) or created[key], False)
    return out


def _key(problem, result: splitting.Split) -> str:
    return result.key or solution_hash(problem.content_hash, result.steps, result.final_answer)


def _row(run, conn, problem, index, result: splitting.Split, truth: dict | None, key: str) -> dict:
    provenance = _provenance(run, conn, index)
    return dict(project_id=problem.project_id, problem_id=problem.pk, steps=result.steps,
                final_answer=result.final_answer,
                generator=provenance["model"][:255], content_hash=key,
                source_id=f"{run.key}/{problem.pk}/{index}"[:255],
                extra={**(result.extra or {}), "provenance": provenance, **(truth or {})})


def _one_solution(run, conn, problem, index, result: splitting.Split, truth: dict | None) -> tuple[int, bool]:
    key = _key(problem, result)
    mine = Solution.objects.filter(content_hash=key, project_id=problem.project_id)
    existing = mine.values_list("id", flat=True).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Solution.objects.create(**_row(run, conn, problem, index, result, truth, key)).pk, True
    except IntegrityError:  # the same text sampled elsewhere at this moment
        return mine.get().pk, False


def sample_problems(run: GenerationRun, conn: Connection, todo: dict[int, list[int]],
                    client: PolicyClient | None = None):
    """Yields (problem, its samples) for the missing samples `todo`, from the demo policy or the server."""
    problems = Problem.objects.in_bulk(list(todo))
    if conn.is_demo:
        traces = demo.writes_traces(run.project_id)  # a project of agent traces gets the demo agent's traces
        for pid, indices in todo.items():
            p = problems[pid]
            yield p, (demo.sample(p, indices, run.key, conn.temperature, traces=traces) if demo.can_sample(p)
                      else ProblemSamples(pid))
        return
    client = client or PolicyClient(conn)
    jobs = [(pid, problems[pid].text, indices) for pid, indices in todo.items() if pid in problems]
    for got in client.sample_many(jobs):
        yield problems[got.problem_id], got


def run_chunk(run: GenerationRun, conn: Connection, problem_ids: list[int], *,
              alive: Callable[[], None] | None = None, grade: bool = True) -> dict:
    """Sample, store and grade what is missing for these problems. `alive()` is called between
    problems (a round's cancel stops the chunk there). Usage is added to the run as it comes."""
    outcomes, new_ids = Counter(), []
    todo = RUNS.missing(run, problem_ids)
    # the client's own count: a request that failed with its problem is counted all the same
    client = PolicyClient(conn) if todo and not conn.is_demo else None
    try:
        for problem, got in sample_problems(run, conn, todo, client):
            counted, made = store(run, conn, problem, got)
            outcomes += counted
            new_ids += made
            RUNS.add_cost(run, got.usage if client is None else client.take())
            if alive:
                alive()
    finally:
        if client is not None:
            RUNS.add_cost(run, client.take())
        if grade and new_ids:
            _grade(run.project_id, new_ids)
    return {"samples": sum(outcomes.values()), **outcomes}


def _grade(project_id: int, ids: list[int]) -> None:
    """New samples graded by the project's outcome checker (a judge's verdicts wait for the round's grade stage)."""
    project = Project.objects.get(pk=project_id)
    kind = checker_of(project)["kind"]
    if kind == "math":
        grade_solutions(Solution.objects.filter(id__in=ids))
    elif kind != "judge":
        grade_outcomes(project, Solution.objects.filter(id__in=ids))

