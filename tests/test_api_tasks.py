"""The annotator flow through the REST API: the same rules as the labelling page."""
import uuid

import pytest

from labeling.models import LabeledPass, Lease, Solution

from .api_helpers import default_project, queued_solutions, token_client

pytestmark = pytest.mark.django_db


def _next(client) -> dict:
    r = client.post("/api/tasks/next/")
    assert r.status_code == 200, r.content
    return r.json()


def _submit_body(ratings=(1, 1, 1), finish="solution", client_id=None):
    return {"client_id": str(client_id or uuid.uuid4()), "ratings": [{"rating": x} for x in ratings],
            "finish_reason": finish, "total_time": 4321}


def test_next_draft_submit_and_empty_queue():
    queued_solutions(1)
    c, annotator = token_client("ann", "annotator")
    task = _next(c)["lease"]
    assert task["kind"] == "task" and task["steps"][0] == "step one" and task["ground_truth_answer"] == "4"
    url = f"/api/tasks/{task['id']}"
    r = c.post(f"{url}/draft/", {"ratings": [{"rating": 1}], "active_ms": 900}, content_type="application/json")
    assert r.json() == {"ok": True}
    assert _next(c)["lease"]["draft"] == {"ratings": [{"rating": 1, "flagged": False}], "active_ms": 900}
    body = _submit_body((1, -1), "found_error")
    r = c.post(f"{url}/submit/", body, content_type="application/json")
    assert r.status_code == 200 and r.json()["duplicate"] is False and r.json()["receipt"] == body["client_id"]
    p = LabeledPass.objects.get()
    assert p.annotator == annotator and p.finish_reason == "found_error" and p.total_time == 4321
    assert [s["completions"][0]["rating"] for s in p.steps] == [1, -1]
    assert _next(c) == {"lease": None, "reason": "all_done", "message": _next(c)["message"]}


def test_replayed_submit_lands_once():
    queued_solutions(1)
    c, _ = token_client("ann", "annotator")
    lease = _next(c)["lease"]["id"]
    body = _submit_body()
    first = c.post(f"/api/tasks/{lease}/submit/", body, content_type="application/json").json()
    again = c.post(f"/api/tasks/{lease}/submit/", body, content_type="application/json").json()
    other_id = c.post(f"/api/tasks/{lease}/submit/", _submit_body(), content_type="application/json").json()
    assert first["duplicate"] is False and again["duplicate"] is True and other_id["duplicate"] is True
    assert first["receipt"] == again["receipt"] == other_id["receipt"]
    assert LabeledPass.objects.count() == 1


def test_bad_input_names_the_field_and_writes_nothing():
    queued_solutions(1)
    c, _ = token_client("ann", "annotator")
    lease = _next(c)["lease"]["id"]
    cases = [
        (_submit_body((1, 5)), "ratings[1].rating"),
        ({**_submit_body(), "client_id": "nope"}, "client_id"),
        ({**_submit_body(), "finish_reason": "give_up"}, "finish_reason"),
        ({**_submit_body(), "total_time": -1}, "total_time"),
        ({k: v for k, v in _submit_body().items() if k != "ratings"}, "ratings"),
        (_submit_body((1, 1)), "ratings"),  # 'solution' needs every step rated
    ]
    for body, field in cases:
        r = c.post(f"/api/tasks/{lease}/submit/", body, content_type="application/json")
        assert r.status_code == 400, (body, r.content)
        err = r.json()
        assert err["field"] == field and err["error"] and isinstance(err["errors"], list), (field, err)
    r = c.post(f"/api/tasks/{lease}/submit/", b"{not json", content_type="application/json")
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    assert LabeledPass.objects.count() == 0 and Lease.objects.get().status == "open"


def test_give_up_and_bad_problem_need_a_reason():
    queued_solutions(2)
    c, _ = token_client("ann", "annotator")
    lease = _next(c)["lease"]["id"]
    r = c.post(f"/api/tasks/{lease}/give-up/", {"client_id": str(uuid.uuid4()), "reason_text": ""},
               content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "reason_text"
    r = c.post(f"/api/tasks/{lease}/give-up/", {"client_id": str(uuid.uuid4()), "reason_text": "too long",
                                                "ratings": [{"rating": 1}]}, content_type="application/json")
    assert r.status_code == 200 and r.json()["finish_reason"] == "give_up"
    lease = _next(c)["lease"]["id"]
    r = c.post(f"/api/tasks/{lease}/bad-problem/", {"client_id": str(uuid.uuid4()), "reason_text": "no answer"},
               content_type="application/json")
    assert r.status_code == 200
    reasons = dict(LabeledPass.objects.values_list("finish_reason", "reason_text"))
    assert reasons == {"give_up": "too long", "bad_problem": "no answer"}


def test_another_annotators_task_looks_missing():
    queued_solutions(1)
    a, _ = token_client("a", "annotator")
    b, _ = token_client("b", "annotator")
    lease = _next(a)["lease"]["id"]
    for action, body in (("draft", {"ratings": []}), ("submit", _submit_body())):
        r = b.post(f"/api/tasks/{lease}/{action}/", body, content_type="application/json")
        assert r.status_code == 404 and r.json()["field"] == "lease"
    assert LabeledPass.objects.count() == 0


def test_qc_task_reads_like_any_other_and_hides_gold():
    (qc,) = queued_solutions(1, is_quality_control=True, gold_first_error=1)
    c, annotator = token_client("ann", "annotator")
    annotator.passes.all().delete()
    default_project(qc_every=1)
    queued_solutions(1)
    first = _next(c)["lease"]
    c.post(f"/api/tasks/{first['id']}/submit/", _submit_body(), content_type="application/json")
    task = _next(c)["lease"]
    assert Lease.objects.get(id=task["id"]).reason == "qc" and Lease.objects.get(id=task["id"]).solution == qc
    text = str(task)
    assert task["kind"] == "task" and "qc" not in text.lower() and "gold" not in text and "quality" not in text
    assert set(task) == {"id", "kind", "problem", "ground_truth_answer", "steps", "alternatives", "draft",
                         "expires_at"}


def test_annotator_cannot_read_data_passes_or_other_people():
    queued_solutions(1)
    c, _ = token_client("ann", "annotator")
    for url in ("/api/problems/", "/api/solutions/", f"/api/solutions/{Solution.objects.get().pk}/", "/api/passes/",
                "/api/users/", "/api/stats/annotators/", "/api/models/"):
        r = c.get(url)
        assert r.status_code == 403 and r.json()["error"], url


def test_me_shows_role_permissions_and_progress():
    c, annotator = token_client("ann", "annotator")
    me = c.get("/api/me/").json()
    assert me["role"] == "annotator" and me["permissions"] == ["labeling.label_task"]
    assert me["annotator"] == str(annotator.uuid) and me["progress"]["passes"] == 0
