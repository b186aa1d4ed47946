"""Object-level authorisation: an annotator who knows (or guesses) another annotator's ids can
neither read nor change that annotator's drafts, leases, passes or tokens, and cannot tell an
existing id of someone else's from one that names nothing.

And which ids annotators see at all: every id in an annotator-facing response is a random UUID
(leases, tokens, their own annotator id) or the client's own (the submit receipt is the
client_id it sent), never a sequential primary key that would leak how many problems,
solutions or passes exist. Integer ids exist only behind admin / ML-staff permissions.
"""
import json
import re
import uuid

import pytest
from django.test import Client

from api.models import ApiToken
from labeling.models import Annotator, LabeledPass, Lease, QueueEntry, Solution

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ACTIONS = {
    "draft": {"ratings": [{"rating": -1}], "active_ms": 1},
    "submit": {"ratings": [{"rating": 1}] * 3, "finish_reason": "solution", "total_time": 5},
    "give-up": {"reason_text": "taking it over", "ratings": []},
    "bad-problem": {"reason_text": "taking it over", "ratings": []},
}


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def snapshot() -> dict:
    """Everything an annotator's action could change."""
    return {"leases": sorted(Lease.objects.values_list("id", "annotator_id", "status", "draft", "labeled_pass_id")),
            "passes": sorted(LabeledPass.objects.values_list("id", "annotator_id", "finish_reason", "client_id",
                                                             "steps")),
            "queue": sorted(QueueEntry.objects.values_list("solution_id", "in_flight", "completed", "is_open")),
            "tokens": sorted(ApiToken.objects.values_list("id", "revoked_at"))}


@pytest.fixture
def two():
    """Annotators A and B, each holding a lease; A has saved a draft and owns a submitted pass."""
    queued_solutions(3)
    a, ann_a = token_client("auth-a", "annotator")
    b, ann_b = token_client("auth-b", "annotator")
    done = post(a, "/api/tasks/next/").json()["lease"]["id"]
    a_client_id = str(uuid.uuid4())
    r = post(a, f"/api/tasks/{done}/submit/", {**ACTIONS["submit"], "client_id": a_client_id})
    assert r.status_code == 200, r.content
    lease_a = post(a, "/api/tasks/next/").json()["lease"]["id"]
    assert post(a, f"/api/tasks/{lease_a}/draft/", {"ratings": [{"rating": 1}], "active_ms": 7}).status_code == 200
    lease_b = post(b, "/api/tasks/next/").json()["lease"]["id"]
    return {"a": a, "b": b, "ann_a": ann_a, "ann_b": ann_b, "lease_a": lease_a, "done_a": done,
            "client_id_a": a_client_id, "pass_a": LabeledPass.objects.get(annotator=ann_a),
            "lease_b": lease_b, "token_a": ApiToken.objects.get(user=ann_a.user)}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("whose", ["open", "submitted"])
def test_another_annotators_lease_looks_missing_and_nothing_changes(two, action, whose):
    lease = two["lease_a"] if whose == "open" else two["done_a"]
    before = snapshot()
    body = {**ACTIONS[action], "client_id": str(uuid.uuid4())}
    r = post(two["b"], f"/api/tasks/{lease}/{action}/", body)
    missing = post(two["b"], f"/api/tasks/{uuid.uuid4()}/{action}/", body)
    assert r.status_code == 404, r.content
    assert r.json() == missing.json() == {"error": "no such task for you", "field": "lease",
                                          "errors": [{"field": "lease", "message": "no such task for you"}]}
    assert snapshot() == before


def test_replaying_another_annotators_receipt_gives_nothing_of_theirs(two):
    """B sends A's client_id: on A's lease (404), and on B's own lease (refused, A's pass untouched)."""
    before = snapshot()
    body = {**ACTIONS["submit"], "client_id": two["client_id_a"]}
    assert post(two["b"], f"/api/tasks/{two['done_a']}/submit/", body).status_code == 404
    r = post(two["b"], f"/api/tasks/{two['lease_b']}/submit/", body)
    assert r.status_code == 400 and r.json()["field"] == "client_id", r.content
    assert snapshot() == before


def test_another_annotators_draft_is_not_served(two):
    """B's next task is B's own lease, never A's, whatever A's draft holds."""
    task = post(two["b"], "/api/tasks/next/").json()["lease"]
    assert task["id"] == two["lease_b"] and task["draft"] == {}
    page = Client()
    page.force_login(two["ann_b"].user)
    html = page.get("/label/").content.decode()
    assert two["lease_b"] in html and two["lease_a"] not in html and two["done_a"] not in html


def test_passes_and_data_by_id_are_refused_whether_they_exist_or_not(two):
    solution = Solution.objects.order_by("pk").first()
    ids = {"passes": two["pass_a"].pk, "solutions": solution.pk, "problems": solution.problem_id}
    for kind, pk in ids.items():
        for candidate in (pk, pk + 10_000):  # a real id and one that names nothing answer alike
            r = two["b"].get(f"/api/{kind}/{candidate}/")
            assert r.status_code == 403, (kind, candidate, r.status_code)
            assert r.json() == two["b"].get(f"/api/{kind}/{pk}/").json()
    for url in ("/api/passes/", f"/api/passes/?annotator={two['ann_a'].uuid}", "/api/stats/annotators/",
                "/api/users/auth-a/", "/api/exports/"):
        assert two["b"].get(url).status_code == 403, url


def test_another_annotators_token_looks_missing_and_stays_valid(two):
    token = two["token_a"]
    assert two["b"].get(f"/api/tokens/{token.pk}/").status_code == 404
    assert two["b"].delete(f"/api/tokens/{token.pk}/").status_code == 404
    assert [t["id"] for t in two["b"].get("/api/tokens/").json()["results"]] == \
        [str(t.pk) for t in ApiToken.objects.filter(user=two["ann_b"].user)]
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert two["a"].get("/api/me/").status_code == 200


def test_screening_decisions_by_annotator_uuid_are_refused(two):
    page = Client()
    page.force_login(two["ann_b"].user)
    before = Annotator.objects.get(pk=two["ann_a"].pk).screening_passed_at
    r = page.post(f"/quality/annotators/{two['ann_a'].uuid}/screening", {"action": "reset"})
    assert r.status_code == 403
    assert Annotator.objects.get(pk=two["ann_a"].pk).screening_passed_at == before


# --- Which ids annotators see -----------------------------------------------------------------

ID_KEY = re.compile(r"^(id|pk|uuid|annotator|receipt|lease|.*_id)$")


def id_values(payload, path="$"):
    """(path, value) of every id-like key in a JSON document."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if ID_KEY.match(str(key)) and not isinstance(value, dict | list):
                yield f"{path}.{key}", value
            yield from id_values(value, f"{path}.{key}")
    elif isinstance(payload, list):
        for i, value in enumerate(payload):
            yield from id_values(value, f"{path}[{i}]")


def test_annotator_facing_responses_carry_no_sequential_id(two):
    b = two["b"]
    lease = two["lease_b"]
    client_id = str(uuid.uuid4())
    page = Client()
    page.force_login(two["ann_b"].user)
    html = page.get("/label/").content.decode()  # B's open task, as the page embeds it
    responses = {
        "next": post(b, "/api/tasks/next/"),
        "draft": post(b, f"/api/tasks/{lease}/draft/", {"ratings": [], "active_ms": 1}),
        "submit": post(b, f"/api/tasks/{lease}/submit/", {**ACTIONS["submit"], "client_id": client_id}),
        "replay": post(b, f"/api/tasks/{lease}/submit/", {**ACTIONS["submit"], "client_id": client_id}),
        "me": b.get("/api/me/"),
        "tokens": b.get("/api/tokens/"),
        "new token": post(b, "/api/tokens/", {"name": "laptop"}),
        "error": post(b, f"/api/tasks/{uuid.uuid4()}/submit/", {**ACTIONS["submit"], "client_id": client_id}),
    }
    task_data = re.search(r'<script id="task-data" type="application/json">(.*?)</script>', html, re.S)[1]
    documents = {name: r.json() for name, r in responses.items()} | {"label page": json.loads(task_data)}
    assert documents["submit"]["receipt"] == documents["replay"]["receipt"] == client_id  # the client's own id
    found = [(name, path, value) for name, doc in documents.items() for path, value in id_values(doc)]
    assert {name for name, _, value in found if value} == set(documents) - {"draft"}, found  # the walk sees ids
    sequential = [f for f in found if f[2] is not None and not (isinstance(f[2], str) and UUID.match(f[2]))]
    assert not sequential, sequential
