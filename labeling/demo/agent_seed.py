"""The third demo project: the calculator agent's traces (labeling.demo.agent), imported as any trace file is
(labeling.formats.trajectories, through the import machinery), queued, with the checker's label of every
assistant turn as the automatic labels of the run `demo:agent-checker`. Its problems keep their demo origin
(`Problem.extra["demo"]`, as the first project's), so the built-in demo policy samples new traces of them."""
from django.contrib.auth import get_user_model

from labeling.demo import agent
from labeling.demo.problems import generate
from labeling.formats import trajectories
from labeling.formats.items import AutoLabelsIn, ImportItem
from labeling.imports.files import run_import
from labeling.imports.writer import ImportStats
from labeling.models import Problem, Project, ProjectMember, Protocol
from labeling.storage import hashing

RUN_KEY = "demo:agent-checker"
VERSION = "demo-agent-checker@1"
AGENT_PROJECT = {
    "slug": "demo-agent", "name": "Demo: a calculator agent's traces", "protocol": Protocol.EVERY_STEP,
    "outcome_checker": {"kind": "numeric"},
    "guidelines": "Each **assistant turn** is a step: is what it asks the calculator, and what it says, right given "
                  "the task and what came before? The task and the tool's results are context. Rate every turn, "
                  "then the **outcome**: is the final answer right?",
}


def _parse(pair) -> ImportItem:
    rec, labels = pair
    item = trajectories.parse_trace(rec)
    item.auto_labels.append(AutoLabelsIn(run_key=RUN_KEY, labeller_version=VERSION, hard=labels,
                                         detail={"checker": "labeling.demo.agent.label_turns",
                                                 "generator_first_error": rec["meta"]["first_error"],
                                                 "error": rec["meta"]["error"]}))
    return item


def seed_agent_project(n_problems: int, n_solutions: int, seed: int, logins: list) -> tuple[Project, ImportStats]:
    project, _ = Project.objects.get_or_create(slug=AGENT_PROJECT["slug"], defaults=AGENT_PROJECT)
    User = get_user_model()
    for login in logins:
        ProjectMember.objects.get_or_create(project=project, user=User.objects.get(username=login.username),
                                            defaults={"role": login.role})
    pairs = agent.traces(n_problems, n_solutions, seed)
    stats = run_import("demo-agent", ((f"trace {i + 1}", p) for i, p in enumerate(pairs)), _parse, enqueue=True,
                       project=project.pk)
    _keep_origins(project, n_problems, seed)
    return project, stats


def _keep_origins(project: Project, n_problems: int, seed: int) -> None:
    """Each problem's demo origin, for the demo policy (also on problems seeded before they kept it)."""
    origins = {hashing.problem_hash(p.text): p.origin for p in generate(n_problems, 0, seed)}
    rows = [p for p in Problem.objects.filter(project=project, content_hash__in=list(origins))
            if (p.extra or {}).get("demo") != origins[p.content_hash]]
    for p in rows:
        p.extra = {**(p.extra or {}), "demo": origins[p.content_hash]}
    Problem.objects.bulk_update(rows, ["extra"])
