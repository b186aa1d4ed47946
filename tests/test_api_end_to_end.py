"""The whole loop through the REST API with API tokens: an admin uploads solutions, an annotator
labels one, an admin exports it, and the exported line is a valid PRM800K record of that pass.

Jobs run on real commits here (transactional test, Celery eager), as they would with a worker.
"""
import uuid

import orjson
import pytest
from django.test import Client

from api.tokens import create_token
from config.celery import app as celery_app
from labeling.formats import prm800k
from labeling.people.accounts import set_user

pytestmark = pytest.mark.django_db(transaction=True)

PROBLEM = "A train covers 120 km in 2 hours. What is its average speed in km/h?"
STEPS = ["Average speed is distance divided by time.", "So the speed is $120 / 2$.",
         "That is $50$ km/h.\n\n# Answer\n\n50"]


@pytest.fixture(autouse=True)
def worker(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = old


def _client(username: str, role: str) -> Client:
    annotator = set_user(username, "pw-for-tests-only", role)
    _, key = create_token(annotator.user, "e2e")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def _ok(response, code=200) -> dict:
    assert response.status_code == code, response.content
    return response.json()


def test_upload_label_export(tmp_path):
    admin, annotator = _client("admin1", "admin"), _client("ann1", "annotator")
    record = {"problem": PROBLEM, "ground_truth_answer": "60", "steps": STEPS, "answer": "50", "is_correct": False,
              "generator": "tiny-llm"}
    upload = tmp_path / "to-label.jsonl"
    upload.write_bytes(orjson.dumps(record) + b"\n")

    # 1. Import by upload; `enqueue` puts the new solution in the labelling queue.
    with upload.open("rb") as f:
        job = _ok(admin.post("/api/imports/", {"file": f, "format": "auto", "enqueue": "true"}), 202)
    job = _ok(admin.get(job["url"]))
    assert job["status"] == "succeeded", job
    assert job["stats"]["format"] == "jsonl" and job["stats"]["created"]["solutions"] == 1
    assert job["stats"]["enqueued"] == 1

    # 2. The annotator (no screening set, no QC questions exist: straight to the queue) gets it.
    me = _ok(annotator.get("/api/me/"))
    for _ in range(5):
        lease = _ok(annotator.post("/api/tasks/next/"))["lease"]
        assert lease is not None
        if lease["problem"] == PROBLEM:
            break
    assert lease["steps"] == STEPS and lease["ground_truth_answer"] == "60"
    url = f"/api/tasks/{lease['id']}"
    ratings = [{"rating": 1}, {"rating": 0, "flagged": True}, {"rating": -1}]
    _ok(annotator.post(f"{url}/draft/", {"ratings": ratings[:2], "active_ms": 5000}, content_type="application/json"))
    body = {"client_id": str(uuid.uuid4()), "ratings": ratings, "finish_reason": "found_error", "total_time": 31337}
    submitted = _ok(annotator.post(f"{url}/submit/", body, content_type="application/json"))
    assert submitted["duplicate"] is False

    # 3. An admin exports as PRM800K and downloads the file.
    job = _ok(admin.post("/api/exports/", {"format": "prm800k"}, content_type="application/json"), 202)
    job = _ok(admin.get(job["url"]))
    assert job["status"] == "succeeded" and job["lines"] == 1, job
    got = admin.get(job["download"])
    assert got.status_code == 200 and got["Content-Disposition"].startswith("attachment;")
    lines = b"".join(got.streaming_content).splitlines()
    assert len(lines) == 1

    # 4. The line is a PRM800K record (the importer's validator accepts it) of exactly that pass.
    rec = orjson.loads(lines[0])
    item = prm800k.parse_record(rec)
    assert list(rec) == list(prm800k.TOP_KEYS)
    assert rec["labeler"] == me["annotator"] == str(item.passes[0].annotator_uuid)
    assert rec["is_quality_control_question"] is False and rec["is_initial_screening_question"] is False
    q = rec["question"]
    assert (q["problem"], q["ground_truth_answer"], q["pre_generated_steps"], q["pre_generated_answer"]) == \
        (PROBLEM, "60", STEPS, "50")
    label = rec["label"]
    assert label["finish_reason"] == "found_error" and label["total_time"] == 31337
    assert [s["completions"][0]["rating"] for s in label["steps"]] == [1, 0, -1]
    assert [s["completions"][0]["text"] for s in label["steps"]] == STEPS
    assert [s["completions"][0]["flagged"] for s in label["steps"]] == [False, True, False]
    assert [s["chosen_completion"] for s in label["steps"]] == [0, 0, None]  # the pass ends at the -1
    assert all(s["human_completion"] is None for s in label["steps"])
    prm800k.parse_timestamp(rec["timestamp"])
