"""The rounds API: start (201, 409 busy, 400 with the field), cancel, resume, the detail with
live progress, worker health, and who may do what. The Celery dispatch is replaced by a
recorder: the end-to-end tests with a real worker live elsewhere."""
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from activelearn.models import ModelVersion, Round, RoundSelection, SolutionScore, WorkerHeartbeat
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.config import DEFAULTS
from labeling.models import Problem, Solution
from labeling.people.accounts import set_user
from labeling.storage.hashing import problem_hash, solution_hash

from .api_helpers import token_client

pytestmark = pytest.mark.django_db


def pool_solutions(n: int, answer_is_correct=None) -> list[Solution]:
    """Solutions nobody labelled or queued: a round's pool."""
    tag = str(uuid.uuid4())
    p = Problem.objects.create(text=f"What is 2+2? {tag}", content_hash=problem_hash(tag), ground_truth_answer="4")
    steps = ["step one", "# Answer\n\n4"]
    return [Solution.objects.create(problem=p, steps=steps, final_answer="4", answer_is_correct=answer_is_correct,
                                    content_hash=solution_hash(p.content_hash, steps, f"{tag}-{i}"))
            for i in range(n)]


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_ml_staff_starts_a_round(ml, dispatched, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = post(ml, "/api/rounds/", {"strategy": "uniform", "round_cap": 10, "per_problem_cap": None})
    assert r.status_code == 201, r.content
    body = r.json()
    round_ = Round.objects.get()
    assert r["Location"] == f"/api/rounds/{round_.pk}/"
    assert dispatched == [round_.pk]
    assert body["generation"] == round_.generation == 1 and body["status"] == "queued" and body["active"]
    assert body["config"] == {**DEFAULTS, "strategy": "uniform", "round_cap": 10}
    assert [s["name"] for s in body["stages"]] == ["generate", "train", "score", "grade", "auto_label", "select",
                                                   "queue"]
    assert all(s["status"] == "pending" and s["fraction"] is None for s in body["stages"])
    assert body["created_by"] == "ml" and body["model_version"] is None and body["error"] == ""
    assert body["selection"]["selected"] == 0
    listed = ml.get("/api/rounds/").json()
    assert listed["count"] == 1 and listed["results"][0]["generation"] == 1 and "stages" not in listed["results"][0]


def test_a_second_round_is_refused_while_one_runs(ml, dispatched):
    assert post(ml, "/api/rounds/").status_code == 201
    r = post(ml, "/api/rounds/", {"strategy": "top_k"})
    assert r.status_code == 409
    assert r.json()["field"] is None
    assert r.json()["error"].startswith("round 1 is queued (waiting for a worker)")
    assert Round.objects.count() == 1


@pytest.mark.parametrize("body,field,message", [
    ({"per_problem": 0}, "per_problem", "must be between 1 and 1000"),
    ({"wrong_fraction": "lots"}, "wrong_fraction", "must be a number"),
    ({"strategy": "greedy"}, "strategy", "must be one of"),
    ({"epochs": True}, "epochs", "must be a number"),
    ({"bogus": 1}, "bogus", "unknown option"),
    ({"retrain": "none"}, "retrain", "needs an active PRM"),
])
def test_invalid_options_are_400_with_the_field(ml, dispatched, body, field, message):
    r = post(ml, "/api/rounds/", body)
    assert r.status_code == 400, r.content
    assert r.json()["field"] == field and message in r.json()["error"]
    assert not Round.objects.exists() and not dispatched


def test_a_body_that_is_not_an_object_is_400(ml, dispatched):
    r = ml.post("/api/rounds/", "[1, 2]", content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "config"


def test_cancel_and_resume(ml, dispatched, django_capture_on_commit_callbacks):
    first = post(ml, "/api/rounds/").json()
    r = post(ml, f"/api/rounds/{first['id']}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and not r.json()["active"]
    assert Round.objects.get().cancel_requested
    r = post(ml, f"/api/rounds/{first['id']}/cancel/")
    assert r.status_code == 400 and r.json()["field"] == "status" and "not queued or running" in r.json()["error"]

    with django_capture_on_commit_callbacks(execute=True):
        r = post(ml, f"/api/rounds/{first['id']}/resume/")
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["attempt"] == 2
    assert dispatched == [first["id"]]
    r = post(ml, f"/api/rounds/{first['id']}/resume/")
    assert r.status_code == 400 and r.json()["field"] == "status"

    post(ml, f"/api/rounds/{first['id']}/cancel/")
    second = post(ml, "/api/rounds/")
    assert second.status_code == 201 and second.json()["generation"] == 2
    r = post(ml, f"/api/rounds/{first['id']}/resume/")
    assert r.status_code == 409 and r.json()["error"].startswith("round 2 is queued")
    assert Round.objects.get(pk=first["id"]).status == "cancelled"
    assert post(ml, "/api/rounds/999/cancel/").status_code == 404
    assert post(ml, "/api/rounds/999/resume/").status_code == 404
    assert ml.get("/api/rounds/999/").status_code == 404


def test_detail_shows_live_progress_selection_and_metrics(ml):
    solutions = pool_solutions(5, answer_is_correct=False)
    version = ModelVersion.objects.create(base_model="micro", status=ModelVersion.Status.READY,
                                          metrics={"validation": {"step_auroc": 0.75, "token_accuracy": 0.6}})
    started = timezone.now() - timedelta(seconds=30)
    r = Round.objects.create(
        generation=3, status="running", slot="active", stage="score", model_version=version,
        config=DEFAULTS, metrics=version.metrics, started_at=started, attempt=1,
        stages={"train": {"status": "done", "started_at": started.isoformat(), "seconds": 12.5, "done": 40,
                          "total": 40, "model_version": version.pk, "trained": True},
                "score": {"status": "running", "started_at": (started + timedelta(seconds=13)).isoformat(),
                          "total": 5},
                "grade": {"status": "pending"}, "select": {"status": "pending"}, "queue": {"status": "pending"}})
    for s in solutions[:2]:
        SolutionScore.objects.create(solution=s, model_version=version, score=0.5)
    body = ml.get(f"/api/rounds/{r.pk}/").json()
    generate, train, score, grade = body["stages"][:4]
    assert generate["name"] == "generate" and generate["status"] == "pending"
    assert train == {"name": "train", "label": "Retrain the PRM", "status": "done", "started_at": started.isoformat(),
                     "finished_at": None, "seconds": 12.5, "done": 40, "total": 40, "fraction": 1.0,
                     "result": {"model_version": version.pk, "trained": True}}
    assert score["status"] == "running" and score["done"] == 2 and score["total"] == 5 and score["fraction"] == 0.4
    assert 15 < score["seconds"] < 60
    assert grade["status"] == "pending" and grade["seconds"] is None
    assert body["stages_done"] == 1 and body["stages_total"] == 7 and body["model_version"] == version.pk
    assert body["metrics"]["validation"]["step_auroc"] == 0.75 and body["stage"] == "score"

    SolutionScore.objects.create(solution=solutions[2], model_version=version, score=0.9)
    assert ml.get(f"/api/rounds/{r.pk}/").json()["stages"][2]["done"] == 3

    RoundSelection.objects.create(round=r, solution=solutions[0], score=0.2, answer_is_correct=False,
                                  bucket="convincing_wrong", rank=0)
    RoundSelection.objects.create(round=r, solution=solutions[1], score=0.6, answer_is_correct=True,
                                  bucket="convincing_rest", rank=1)
    RoundSelection.objects.create(round=r, solution=solutions[2], score=None, bucket="uniform", rank=2)
    sel = ml.get(f"/api/rounds/{r.pk}/").json()["selection"]
    assert sel == {"selected": 3, "buckets": {"convincing_wrong": 1, "convincing_rest": 1, "uniform": 1},
                   "wrong_answer": 1, "correct_answer": 1, "ungraded": 1, "mean_score": pytest.approx(0.4),
                   "min_score": 0.2, "max_score": 0.6}

    rounds.cancel_round(r)  # a stage running when the round is cancelled says so, and its clock stops
    score = ml.get(f"/api/rounds/{r.pk}/").json()["stages"][2]
    assert score["status"] == "cancelled" and score["done"] == 3
    assert ml.get(f"/api/rounds/{r.pk}/").json()["stages"][2]["seconds"] == score["seconds"]


def test_failed_round_shows_its_error_and_failed_stage(ml):
    r = Round.objects.create(generation=1, status="running", slot="active", stage="train", config=DEFAULTS,
                             attempt=1, stages={"train": {"status": "running"}})
    rounds.fail(r.pk, 1, "stage 'train': ValueError: no labelled data to train a prm on")
    body = ml.get(f"/api/rounds/{r.pk}/").json()
    assert body["status"] == "failed" and not body["active"] and "no labelled data" in body["error"]
    assert body["stages"][1]["status"] == "failed" and body["stages"][2]["status"] == "pending"


def test_workers_endpoint(ml):
    admin = token_client("boss", "admin")[0]
    ann = token_client("ann", "annotator")[0]
    assert ml.get("/api/workers/").json() == {"alive": False, "workers": [], "last_seen": None}
    now = timezone.now()
    WorkerHeartbeat.objects.create(hostname="old:1", pid=1, started_at=now - timedelta(hours=2),
                                   last_seen=now - timedelta(hours=1))
    body = admin.get("/api/workers/").json()
    assert body["alive"] is False and body["last_seen"] is not None
    WorkerHeartbeat.objects.create(hostname="w:2", pid=2, started_at=now, last_seen=now)
    body = ml.get("/api/workers/").json()
    assert body["alive"] is True and [w["hostname"] for w in body["workers"]] == ["w:2"]
    assert ann.get("/api/workers/").status_code == 403


@pytest.mark.parametrize("role", ["annotator", "admin"])
def test_rounds_are_ml_staff_only(role, dispatched):
    r = Round.objects.create(generation=1, status="failed", config=DEFAULTS, stages={})
    c = token_client(f"u-{role}", role)[0]
    assert c.get("/api/rounds/").status_code == 403
    assert c.get(f"/api/rounds/{r.pk}/").status_code == 403
    assert post(c, "/api/rounds/").status_code == 403
    assert post(c, f"/api/rounds/{r.pk}/cancel/").status_code == 403
    assert post(c, f"/api/rounds/{r.pk}/resume/").status_code == 403
    assert Client().get("/api/rounds/").status_code == 401
    assert Round.objects.get().status == "failed" and not dispatched


def test_superuser_may_run_rounds(dispatched):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    c = Client()
    c.force_login(root)
    assert post(c, "/api/rounds/").status_code == 201
    assert c.get("/api/workers/").status_code == 200


def test_the_page_can_start_a_round_with_the_session_and_csrf(dispatched):
    set_user("mls", "pw-for-tests-only", "ml_staff")
    c = Client(enforce_csrf_checks=True)
    c.force_login(set_user("mls", "pw-for-tests-only", "ml_staff").user)
    page = c.get("/rounds/")
    token = page.cookies["csrftoken"].value
    assert post(c, "/api/rounds/", {"seed": 3}).status_code == 403  # no CSRF header
    r = c.post("/api/rounds/", {"seed": 3}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 201 and r.json()["config"]["seed"] == 3


def test_form_encoded_start_is_accepted(ml, dispatched):
    r = ml.post("/api/rounds/", {"strategy": "top_k", "round_cap": "7"})
    assert r.status_code == 201, r.content
    assert r.json()["config"]["round_cap"] == 7 and r.json()["config"]["strategy"] == "top_k"


def test_schema_documents_every_option_and_the_409():
    import yaml

    from activelearn.rounds.config import OPTIONS

    c = Client()
    schema = yaml.safe_load(c.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi").content)
    props = schema["components"]["schemas"]["RoundConfigInRequest"]["properties"]
    assert list(props) == ["project", *(o.name for o in OPTIONS)]  # the project it runs in, then its options
    assert props["per_problem"]["minimum"] == 1 and props["per_problem"]["default"] == 4
    assert props["per_problem_cap"]["nullable"] is True
    assert "409" in schema["paths"]["/api/rounds/"]["post"]["responses"]
    assert "409" in schema["paths"]["/api/rounds/{id}/resume/"]["post"]["responses"]
    assert "404" in schema["paths"]["/api/rounds/"]["post"]["responses"]  # a project not yours
    assert {"/api/rounds/{id}/", "/api/rounds/{id}/cancel/", "/api/workers/"} <= set(schema["paths"])
