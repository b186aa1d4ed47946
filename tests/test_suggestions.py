"""Suggestions a person verifies: a project shows an automatic source's per-step labels; none is a rating until
the labeller takes it or rates the step; the pass records what was suggested and what was kept (read on the
server, not from the client); the quality page reports acceptance and QC accuracy with and without them."""
import json
import uuid

import pytest

from labeling.models import AutoLabelRun, LabeledPass, Project, ProjectMember, Role, StepLabels
from labeling.reports import quality

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db
STEPS = ("2 + 2 = 4", "4 * 3 = 13", "# Answer\n\n13")


def _judged(solution, hard) -> StepLabels:
    run, _ = AutoLabelRun.objects.get_or_create(key="judge-demo", defaults=dict(
        source="judge", labeller_version="t", project_id=solution.project_id))
    return StepLabels.objects.create(run=run, solution=solution, n_steps=len(hard), hard=hard,
                                     first_error=next((i for i, v in enumerate(hard) if v == -1), -1))


def _labeller(project):
    client, annotator = token_client(f"ann-{uuid.uuid4().hex[:5]}", Role.ANNOTATOR)
    ProjectMember.objects.filter(user=annotator.user).update(project=project)
    return client


def _submit(client, ratings, finish):
    task = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
    r = client.post(f"/api/tasks/{task['id']}/submit/", json.dumps({
        "client_id": str(uuid.uuid4()), "ratings": [{"rating": v} for v in ratings], "finish_reason": finish,
        "total_time": 10}), content_type="application/json")
    assert r.status_code == 200, r.content
    return LabeledPass.objects.get(client_id=r.json()["receipt"])


def test_a_pass_records_the_suggestions_and_which_it_kept():
    project = Project.objects.create(slug="s", name="S", suggestion_source="judge")
    (solution,) = queued_solutions(1, STEPS, project=project)
    _judged(solution, [1, 1, 1])  # the judge missed the wrong product
    p = _submit(_labeller(project), [1, -1], "found_error")
    assert p.suggestions == {"source": "judge", "run": "judge-demo", "labels": [1, 1], "kept": [True, False]}


def test_without_a_suggestion_source_nothing_is_suggested_or_recorded():
    project = Project.objects.create(slug="n", name="N")
    (solution,) = queued_solutions(1, STEPS, project=project)
    _judged(solution, [1, -1, 1])
    assert _submit(_labeller(project), [1, -1], "found_error").suggestions == {}


def test_the_page_shows_suggestions_only_where_the_project_asks(client):
    project = Project.objects.create(slug="p", name="P", suggestion_source="judge")
    (solution,) = queued_solutions(1, STEPS, project=project)
    _judged(solution, [1, -1, 1])
    _, annotator = token_client("viewer", Role.ANNOTATOR)
    ProjectMember.objects.filter(user=annotator.user).update(project=project)
    client.force_login(annotator.user)
    html = client.get("/label/").content.decode()
    data = json.loads(html.split('id="suggestion-data" type="application/json">')[1].split("</script>")[0])
    assert data == {"source": "judge", "run": "judge-demo", "labels": [1, -1, 1]}
    project.suggestion_source = ""
    project.save()
    html = client.get("/label/").content.decode()
    assert html.split('id="suggestion-data" type="application/json">')[1].startswith("null")


def test_quality_figures_show_acceptance_and_qc_accuracy_with_and_without_suggestions():
    project = Project.objects.create(slug="q", name="Q", suggestion_source="judge", qc_every=1)
    (a, b) = queued_solutions(2, STEPS, project=project)
    _judged(a, [1, 1, 1])
    _judged(b, [1, -1, 1])
    (qc_shown,) = queued_solutions(1, STEPS, project=project, is_quality_control=True, gold_first_error=1)
    _judged(qc_shown, [1, 1, 1])
    client = _labeller(project)
    _submit(client, [1, -1], "found_error")  # a: kept 1 of 2
    _submit(client, [1, 1, 1], "solution")  # the QC question, with a (wrong) suggestion: misses gold
    _submit(client, [1, -1], "found_error")  # b: kept 2 of 2
    figures = quality.suggestion_figures([project.pk])
    assert (figures["passes"], figures["kept"], figures["changed"]) == (3, 6, 1)
    assert figures["acceptance"] == pytest.approx(6 / 7)
    assert figures["qc_with"] == {"answered": 1, "agreement": 0.0}
    assert figures["qc_without"] == {"answered": 0, "agreement": None}
