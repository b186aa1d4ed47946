"""Bad API input that the fuzzing (tests/test_fuzz_api.py) found answered with a 500, or
accepted when it should not have been: each is now a 4xx in the project's error shape and
writes nothing."""
import uuid

import pytest

from labeling.models import ExportJob, LabeledPass, Lease

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db


def error(r, status=400) -> dict:
    assert r.status_code == status, r.content
    body = r.json()
    assert set(body) == {"error", "field", "errors"} and body["error"], body
    return body


@pytest.fixture
def annotator_with_task():
    queued_solutions(1)
    client, _ = token_client("ann", "annotator")
    return client, client.post("/api/tasks/next/").json()["lease"]["id"]


def test_json_nested_too_deeply_is_a_400(annotator_with_task):
    # json.loads raised RecursionError past Python's recursion limit: a 500 from every JSON endpoint.
    client, lease = annotator_with_task
    admin, _ = token_client("boss", "admin")
    deep = b"[" * 100_000 + b"]" * 100_000
    for c, url in ((client, f"/api/tasks/{lease}/draft/"), (admin, "/api/exports/"), (admin, "/api/users/")):
        assert "nested too deeply" in error(c.post(url, deep, content_type="application/json"))["error"]
    assert Lease.objects.get().draft == {} and not ExportJob.objects.exists()
    assert client.post(f"/api/tasks/{lease}/draft/", {"ratings": [{"rating": 1}]},
                       content_type="application/json").status_code == 200


@pytest.mark.parametrize("rating", [1.0, True, "1"])
def test_a_rating_must_be_an_integer(annotator_with_task, rating):
    # 1.0 was stored as 1.0: the pass then exported as a record that the PRM800K importer refuses.
    client, lease = annotator_with_task
    r = client.post(f"/api/tasks/{lease}/draft/", {"ratings": [{"rating": rating}]}, content_type="application/json")
    assert error(r)["field"] == "ratings[0].rating"
    body = {"client_id": str(uuid.uuid4()), "ratings": [{"rating": 1}, {"rating": rating}, {"rating": 1}],
            "finish_reason": "solution", "total_time": 10}
    assert error(client.post(f"/api/tasks/{lease}/submit/", body, content_type="application/json"))["field"] == \
        "ratings[1].rating"
    assert Lease.objects.get().draft == {} and not LabeledPass.objects.exists()


def test_a_username_with_a_nul_is_a_404():
    # <str:username> let %00 through to the query: PostgreSQL refuses NUL in text, a 500.
    admin, _ = token_client("boss", "admin")
    assert error(admin.patch("/api/users/a%00b/", {"is_active": False}, content_type="application/json"), 404)
    assert error(admin.post("/api/users/a%00b/screening/", {"action": "approve"}, content_type="application/json"),
                 404)
    assert admin.get("/api/users/boss/").status_code == 200


def test_export_generations_fit_the_column():
    # 2**31 and up were accepted (202) and failed the job later (OverflowError on SQLite).
    admin, _ = token_client("boss", "admin")
    for bad in (2**31, -2**31 - 1, 10**30):
        r = admin.post("/api/exports/", {"generations": [1, bad]}, content_type="application/json")
        assert error(r)["field"].startswith("generations"), r.json()
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("text", ["\x00", "model\x00", "\ud800"])
def test_round_options_are_storable_text(text):
    # Round.config is jsonb: PostgreSQL refused the NUL or the lone surrogate, a 500.
    from activelearn.models import Round

    ml, _ = token_client("ml", "ml_staff")
    r = ml.post("/api/rounds/", {"base_model": text}, content_type="application/json")
    assert error(r)["field"] == "base_model" and not Round.objects.exists()


def test_an_error_echoing_a_lone_surrogate_is_still_json():
    # `"\ud800" is not a valid choice.`: the renderer could not encode the echo as UTF-8, a 500.
    admin, _ = token_client("boss", "admin")
    token_client("ann", "annotator")
    body = error(admin.post("/api/users/ann/screening/", {"action": "\ud800"}, content_type="application/json"))
    assert body["field"] == "action" and "\\ud800" in body["error"]
    ml, _ = token_client("ml", "ml_staff")
    body = error(ml.post("/api/rounds/", {"\ud800": 1}, content_type="application/json"))
    assert body["field"] == "\\ud800" and body["error"] == "unknown option"
