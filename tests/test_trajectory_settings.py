"""Traces' project settings (issue 28): the outcome checker on the settings page, checked as the API and
`grade_outcomes --checker` check it (Project.clean) and audit-logged; suggestions on the labelling page from
an imported labeller's run (a model's AgentProcessBench labels) or from the trajectory judge."""
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from labeling.imports import files as importers
from labeling.imports.trajectory_labels import RUN_PREFIX, import_trajectory_labels
from labeling.models import (
    AuditAction,
    AuditEvent,
    AutoLabelRun,
    LabeledPass,
    Lease,
    Project,
    ProjectMember,
    Role,
    Solution,
    StepLabels,
)
from labeling.people.accounts import set_user
from labeling.people.label_sources import suggestion_choices

from .api_helpers import token_client

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-trace-settings"
APB = Path(__file__).parent / "fixtures" / "agentprocessbench"
TRACES = APB / "hotpotqa.jsonl"
MODELS = sorted(APB.glob("hotpotqa__reference_*.jsonl"))
SETTINGS = {"action": "settings", "name": "Agents", "guidelines": "", "protocol": "every_step", "allow_neutral": "on",
            "default_overlap": 1, "qc_every": 10, "screening_threshold": 0.8, "lease_seconds": 600}


@pytest.fixture
def agents():
    project = Project.objects.create(slug="agents", name="Agents", protocol="every_step")
    importers.import_solutions(TRACES, project=project.pk, enqueue=True)
    for path in MODELS:
        import_trajectory_labels(path, project=project.pk)
    return project


def _admin(project) -> Client:
    annotator = set_user("boss", PASSWORD, Role.ANNOTATOR)
    ProjectMember.objects.create(project=project, user=annotator.user, role=Role.ADMIN)
    c = Client()
    c.force_login(annotator.user)
    return c


def _script(page, name: str):
    return json.loads(page.content.decode().split(f'id="{name}" type="application/json">')[1].split("</script>")[0])


def test_the_outcome_checker_is_set_on_the_settings_page_checked_and_audit_logged(agents):
    admin = _admin(agents)
    page = admin.get("/projects/agents/settings/").content.decode()
    assert 'name="outcome_checker"' in page and "{}" in page.split('name="outcome_checker"')[1][:200]
    ok = admin.post("/projects/agents/settings/", {**SETTINGS, "outcome_checker": '{"kind": "normalised"}'})
    assert ok.status_code == 302
    agents.refresh_from_db()
    assert agents.outcome_checker == {"kind": "normalised"}
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_UPDATE)
    assert event.details["changed"]["outcome_checker"] == {"from": {}, "to": {"kind": "normalised"}}
    # refused as the API and grade_outcomes refuse it, naming the option; nothing changes
    for bad, says in (('{"kind": "vibes"}', "outcome_checker.kind: must be one of"),
                      ('{"kind": "regex", "pattern": "("}', "outcome_checker.pattern: is not a regular expression"),
                      ('{"kind": "exact", "rel_tol": 1}', "outcome_checker.rel_tol: is not an option"),
                      ("[1]", "outcome_checker: must be an object"), ("{not json", "Enter a valid JSON")):
        r = admin.post("/projects/agents/settings/", {**SETTINGS, "outcome_checker": bad})
        assert r.status_code == 400 and says in r.content.decode(), bad
    agents.refresh_from_db()
    assert agents.outcome_checker == {"kind": "normalised"} and AuditEvent.objects.filter(
        action=AuditAction.PROJECT_UPDATE).count() == 1
    # an emptied field grades as math again
    assert admin.post("/projects/agents/settings/", {**SETTINGS, "outcome_checker": ""}).status_code == 302
    agents.refresh_from_db()
    assert agents.outcome_checker == {}


def test_the_api_and_the_command_check_the_checker_the_same_way_and_log_it(agents):
    client, annotator = token_client("api-boss", Role.ANNOTATOR)
    ProjectMember.objects.create(project=agents, user=annotator.user, role=Role.ADMIN)
    r = client.patch("/api/projects/agents/", {"outcome_checker": {"kind": "numeric", "rel_tol": -1}},
                     content_type="application/json")
    assert r.status_code == 400 and "outcome_checker.rel_tol" in json.dumps(r.json())
    r = client.patch("/api/projects/agents/", {"outcome_checker": {"kind": "numeric", "rel_tol": 0.01}},
                     content_type="application/json")
    assert r.status_code == 200 and r.json()["outcome_checker"] == {"kind": "numeric", "rel_tol": 0.01}
    with pytest.raises(CommandError, match="outcome_checker.kind"):
        call_command("grade_outcomes", "--checker", '{"kind": "vibes"}', "--project", "agents")
    call_command("grade_outcomes", "--checker", '{"kind": "normalised"}', "--project", "agents", stdout=io.StringIO())
    agents.refresh_from_db()
    assert agents.outcome_checker == {"kind": "normalised"}
    changes = [e.details["changed"]["outcome_checker"]["to"] for e in
               AuditEvent.objects.filter(action=AuditAction.PROJECT_UPDATE).order_by("id")]
    assert changes == [{"kind": "numeric", "rel_tol": 0.01}, {"kind": "normalised"}]


def test_an_imported_model_run_is_a_suggestion_source_of_its_project_only(agents):
    runs = sorted(AutoLabelRun.objects.filter(project=agents, key__startswith=RUN_PREFIX).values_list("key", flat=True))
    assert runs and {k for k, _ in suggestion_choices(agents.pk)} >= {"", "judge", *runs}
    admin = _admin(agents)
    page = admin.get("/projects/agents/settings/").content.decode()
    assert all(f'<option value="{k}"' in page for k in runs)
    assert admin.post("/projects/agents/settings/", {**SETTINGS, "suggestion_source": runs[0]}).status_code == 302
    agents.refresh_from_db()
    assert agents.suggestion_source == runs[0]
    other = Project.objects.create(slug="other", name="Other")
    assert {k for k, _ in suggestion_choices(other.pk)} == {"", "prm", "judge", "rollout", "first_error"}
    for bad in ("imported:agentprocessbench:nobody", "vibes"):
        r = admin.post("/projects/agents/settings/", {**SETTINGS, "suggestion_source": bad})
        assert r.status_code == 400 and "suggestion_source" in r.content.decode()
    other.suggestion_source = runs[0]  # another project's run: refused by the model, whichever path saves it
    with pytest.raises(ValidationError, match="suggestion_source"):
        other.full_clean()


@pytest.mark.parametrize("source", ["imported", "judge"])
def test_the_label_page_of_a_trace_carries_the_chosen_sources_suggestion_and_outcome(agents, source, client):
    if source == "imported":
        key = sorted(AutoLabelRun.objects.filter(project=agents, key__startswith=RUN_PREFIX)
                     .values_list("key", flat=True))[0]
        expect = {s: lab for s, lab in StepLabels.objects.filter(run__key=key).values_list("solution_id", "id")}
    else:  # the trajectory judge's labels (activelearn.labellers.trajectory_judge), as a run writes them
        key = "judge-traces"
        run = AutoLabelRun.objects.create(key=key, source="judge", labeller_version="judge@1", project=agents)
        expect = {}
        for sol in Solution.objects.filter(project=agents):
            hard = [1] * (len(sol.steps) - 1) + [-1]
            expect[sol.pk] = StepLabels.objects.create(
                run=run, solution=sol, n_steps=len(sol.steps), hard=hard, first_error=len(hard) - 1,
                detail={"final_label": -1, "rationale": "the last turn answers wrong"}).pk
    agents.suggestion_source = key if source == "imported" else "judge"
    agents.full_clean()
    agents.save()
    annotator = set_user("labeller", PASSWORD, Role.ANNOTATOR)
    annotator.screening_passed_at = annotator.created_at
    annotator.save()
    ProjectMember.objects.create(project=agents, user=annotator.user, role=Role.ANNOTATOR)
    client.force_login(annotator.user)
    page = client.get("/label/?project=agents")
    task, suggestion = _script(page, "task-data"), _script(page, "suggestion-data")
    sid = Lease.objects.get(pk=task["lease"]["id"]).solution_id
    assert sid in expect
    lab = StepLabels.objects.get(pk=expect[sid])
    assert suggestion["source"] == agents.suggestion_source and suggestion["run"] == key
    assert suggestion["labels"] == lab.hard and len(suggestion["labels"]) == len(Solution.objects.get(pk=sid).steps)
    if lab.detail.get("final_label") is not None:
        assert suggestion["final_label"] == lab.detail["final_label"]


def test_a_pass_of_a_trace_records_the_suggested_labels_and_outcome_and_what_it_kept(agents):
    """Through the API (the page's calls): the server reads the suggestion again on submit."""
    key = f"{RUN_PREFIX}gpt-5.2-chat"  # on every trace here: its labels, and the outcome
    agents.suggestion_source = key
    agents.full_clean()
    agents.save()
    client, annotator = token_client("api-labeller", Role.ANNOTATOR)
    ProjectMember.objects.filter(user=annotator.user).update(project=agents)
    lease = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
    sid = Lease.objects.get(pk=lease["id"]).solution_id
    model = StepLabels.objects.get(run__key=key, solution_id=sid)
    ratings = [1] * model.n_steps
    outcome = 1 if model.detail["final_label"] != 1 else -1  # the person disagrees on the outcome
    r = client.post(f"/api/tasks/{lease['id']}/submit/", json.dumps({
        "client_id": "00000000-0000-4000-8000-0000000000aa", "ratings": [{"rating": v} for v in ratings],
        "finish_reason": "solution", "total_time": 10, "outcome": outcome}), content_type="application/json")
    assert r.status_code == 200, r.content
    p = LabeledPass.objects.get(client_id=r.json()["receipt"])
    assert p.suggestions["run"] == key and p.suggestions["labels"] == model.hard
    assert p.suggestions["kept"] == [v == 1 for v in model.hard]
    assert p.suggestions["final_label"] == model.detail["final_label"] and p.suggestions["outcome_kept"] is False
    assert p.extra["final_label"] == outcome
