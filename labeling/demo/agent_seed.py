"""The third demo project: the calculator agent's traces (labeling.demo.agent), imported as any trace file is
(labeling.formats.trajectories, through the import machinery), queued, with the checker's label of every
assistant turn as the automatic labels of the run `demo:agent-checker`."""
from django.contrib.auth import get_user_model

from labeling.demo import agent
from labeling.formats import trajectories
from labeling.formats.items import AutoLabelsIn, ImportItem
from labeling.imports.files import run_import
from labeling.imports.writer import ImportStats
from labeling.models import Project, ProjectMember, Protocol

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
    return project, stats
