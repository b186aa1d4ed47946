"""Fuzzing every API write: task draft/submit/give-up/bad-problem/next, users (create, PATCH,
screening), tokens (create, revoke), imports, exports, model activation, rounds (start,
cancel, resume).

Each example sends one request built from the endpoint's valid body: mutated (a value
replaced, deleted or added), wholly random JSON, raw bytes (cut short, invalid UTF-8, NUL,
deep nesting, empty, 3 MB), as JSON, a form, or another content type; sometimes to an odd
path id. Properties: never a 5xx; an error is the project's shape {"error", "field",
"errors"} and writes nothing (every table counted, the mutable rows compared); a valid
request right after still works. Each example runs in a savepoint that is rolled back, so
every example meets the same data.
"""
import json
import uuid
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from activelearn.models import ModelVersion, PolicyConnection, Round
from activelearn.policy import connection_writes
from activelearn.rounds import lifecycle as rounds
from api.models import ApiToken
from api.tokens import create_token
from labeling.exports import downloads
from labeling.exports import rows as selectors
from labeling.formats import prm800k
from labeling.imports import uploads as upload_jobs
from labeling.models import Annotator, ExportJob, ImportJob, LabeledPass, Lease, QueueEntry
from labeling.people.accounts import set_user

from .api_helpers import queued_solutions, token_client
from .fuzz_strategies import NASTY_STRINGS, bounded, dumps, json_values, mutated

pytestmark = pytest.mark.django_db
User = get_user_model()
KEYS = ["rating", "flagged", "alternatives", "ratings", "client_id", "total_time", "finish_reason", "reason_text",
        "active_ms", "username", "password", "email", "role", "is_active", "action", "name", "user", "format",
        "generations", "include_qc", "neutral", "gzip", "enqueue", "file", "strategy", "per_problem", "base_model",
        "round_cap", "per_problem_cap", "seed", "settings", "base_url", "model", "temperature", "max_tokens", "stop",
        "api_key_env", "generate_with", "policy_overrides", "samples_per_problem"]


@pytest.fixture
def world(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # PBKDF2 is most of the setup
    queued_solutions(2)
    ann, _ = token_client("fz-ann", "annotator")
    admin, boss = token_client("fz-admin", "admin")
    ml, ml_user = token_client("fz-ml", "ml_staff")
    set_user("fz-target", "pw-long-enough", "annotator")
    lease = ann.post("/api/tasks/next/").json()["lease"]["id"]
    ready = ModelVersion.objects.create(base_model="micro", status=ModelVersion.Status.READY,
                                        finished_at=timezone.now())
    # A cancelled round: a new one may start, this one may be resumed (dispatch waits for a commit: never).
    round_ = rounds.cancel_round(rounds.start_round({"strategy": "uniform"}, boss.user))
    token, _ = create_token(boss.user, "to-revoke")
    connection_writes.create("fz-conn", {"base_url": "http://127.0.0.1:1/v1", "model": "m"}, actor=ml_user.user)
    return {"annotator": ann, "admin": admin, "ml_staff": ml, "lease": lease, "username": "fz-target",
            "version": ready.pk, "round": round_.pk, "token": str(token.pk), "connection": "fz-conn"}


def _ratings(n):
    return [{"rating": 1, "flagged": False} for _ in range(n)]


# name: (method, role, path with {id}, the id's kind, a valid body or None)
ENDPOINTS = {
    "next": ("post", "annotator", "/api/tasks/next/", None, None),
    "draft": ("post", "annotator", "/api/tasks/{id}/draft/", "lease", {"ratings": _ratings(2), "active_ms": 900}),
    "submit": ("post", "annotator", "/api/tasks/{id}/submit/", "lease",
               {"client_id": "7d3e0c55-0d43-4c9a-8f55-3a0c9c0a8d11", "ratings": _ratings(3),
                "finish_reason": "solution", "total_time": 4321, "reason_text": ""}),
    "give-up": ("post", "annotator", "/api/tasks/{id}/give-up/", "lease",
                {"client_id": "0b0b1c55-0d43-4c9a-8f55-3a0c9c0a8d11", "reason_text": "too long",
                 "ratings": _ratings(1), "total_time": 10}),
    "bad-problem": ("post", "annotator", "/api/tasks/{id}/bad-problem/", "lease",
                    {"client_id": "0c0c1c55-0d43-4c9a-8f55-3a0c9c0a8d11", "reason_text": "no answer"}),
    "user-create": ("post", "admin", "/api/users/", None,
                    {"username": "fz.new", "password": "long-enough-pw", "email": "n@example.com",
                     "role": "annotator"}),
    "user-patch": ("patch", "admin", "/api/users/{id}/", "username",
                   {"role": "ml_staff", "is_active": True, "password": "another-long-pw"}),
    "screening": ("post", "admin", "/api/users/{id}/screening/", "username", {"action": "approve"}),
    "token-create": ("post", "admin", "/api/tokens/", None, {"name": "ci", "user": "fz-target"}),
    "token-revoke": ("delete", "admin", "/api/tokens/{id}/", "token", None),
    "import": ("post", "admin", "/api/imports/", None, {"format": "auto", "enqueue": False}),
    "export": ("post", "admin", "/api/exports/", None,
               {"format": "trl", "generations": [1, 2], "include_qc": False, "neutral": "drop", "gzip": True}),
    "activate": ("post", "ml_staff", "/api/models/{id}/activate/", "version", None),
    "round-start": ("post", "ml_staff", "/api/rounds/", None,
                    {"strategy": "top_k", "per_problem": 2, "wrong_fraction": 0.5, "round_cap": 10,
                     "base_model": "", "seed": 3}),
    "round-cancel": ("post", "ml_staff", "/api/rounds/{id}/cancel/", "round", None),
    "connection-create": ("post", "ml_staff", "/api/connections/", None,
                          {"name": "fz-new", "settings": {"base_url": "http://127.0.0.1:1/v1", "model": "m",
                                                          "temperature": 0.5, "stop": ["\n\n"]}}),
    "connection-patch": ("patch", "ml_staff", "/api/connections/{id}/", "connection",
                         {"settings": {"max_tokens": 256, "api_key_env": "POLICY_API_KEY_FZ"}}),
    "connection-delete": ("delete", "ml_staff", "/api/connections/{id}/", "connection", None),
    "round-resume": ("post", "ml_staff", "/api/rounds/{id}/resume/", "round", None),
}
ODD_IDS = {
    "lease": [str(uuid.uuid4()), "00000000-0000-0000-0000-000000000000"],
    "username": ["nobody", "fz-admin", "a\x00b", "ü" * 200, "..", "%00", " ", "\ud800", "x" * 5000],
    "token": [str(uuid.uuid4())],
    "version": ["0", "99999999999999999999999", "2147483648"],
    "round": ["0", "99999999999999999999999", "9223372036854775808"],
    "connection": ["demo", "default", "nope", "A", "x" * 70],
}
RAW_BODIES = [b"", b"{", b'{"ratings": [', b"\x00", b"\xff\xfe", b"null", b"[]", b"1e999", b"NaN", b'"\\ud800"',
              b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b" " * 3_000_000]
CONTENT_TYPES = ["application/json", "application/json", "application/json", "text/plain",
                 "application/json; charset=utf-16", "multipart/form-data; boundary=x", ""]


@st.composite
def requests(draw, body):
    """(content type or "form", payload): what to send in place of `body`."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "random", "raw", "form"]))
    if kind == "raw":
        return draw(st.sampled_from(CONTENT_TYPES)), draw(st.sampled_from(RAW_BODIES) | st.binary(max_size=64))
    value = draw(mutated(body or {}, KEYS)) if kind != "random" else draw(json_values)
    if kind == "form" and isinstance(value, dict):
        return "form", value
    return draw(st.sampled_from(CONTENT_TYPES[:3] + CONTENT_TYPES[4:5])), draw(dumps(value))


def _form(value) -> dict:
    # A form carries text only: other values go as their JSON; a lone surrogate cannot go at all.
    def text(v):
        return (v if isinstance(v, str) else json.dumps(v)).encode("utf-8", "surrogatepass").decode("utf-8", "replace")

    return {text(k): text(v) for k, v in value.items()} if isinstance(value, dict) else {}


def send(client, method, path, content_type, payload):
    if content_type == "form":
        data = _form(payload)
        if method == "post":
            return client.post(path, data)  # multipart
        return client.generic(method.upper(), path, urlencode(data), "application/x-www-form-urlencoded")
    if content_type == "upload":
        return client.post(path, payload)
    return client.generic(method.upper(), path, payload, content_type)


def snapshot() -> dict:
    """Row counts of every table, and the rows that a write could change in place."""
    rows = {m._meta.label: m.objects.count() for m in apps.get_models()}
    rows["users"] = list(User.objects.order_by("pk").values("username", "is_active", "password", "email"))
    rows["annotators"] = list(Annotator.objects.order_by("pk").values("role", "screening_passed_at"))
    rows["leases"] = list(Lease.objects.order_by("pk").values("status", "draft", "labeled_pass_id"))
    rows["tokens"] = list(ApiToken.objects.order_by("pk").values("name", "revoked_at"))  # not last_used_at
    rows["queue"] = list(QueueEntry.objects.order_by("pk").values("in_flight", "completed", "is_open"))
    rows["versions"] = list(ModelVersion.objects.order_by("pk").values("status", "is_active"))
    rows["rounds"] = list(Round.objects.order_by("pk").values("status", "cancel_requested", "attempt"))
    rows["connections"] = list(PolicyConnection.objects.order_by("pk").values("name", "settings"))
    return rows


def check_response(r, before):
    assert r.status_code < 500, r.content[:500]
    if r.status_code >= 400:
        body = r.json()
        # a 409 of a submit also names the pass that landed (its receipt)
        assert set(body) - ({"receipt"} if r.status_code == 409 else set()) == {"error", "field", "errors"}, body
        assert isinstance(body["error"], str) and body["error"] and isinstance(body["errors"], list), body
        assert body["field"] is None or isinstance(body["field"], str), body
        assert snapshot() == before, (r.status_code, body)


def check_accepted(name, r, admin):
    """What an endpoint accepted must work later: a pass exports as a record that the importer
    takes back, a new user is reachable at its URL, a job runs to an outcome it can explain."""
    if r.status_code >= 300:
        return
    body = r.json() if r.content else {}
    if name in ("submit", "give-up", "bad-problem") and not body["duplicate"]:
        passes = LabeledPass.objects.filter(client_id=body["receipt"])
        for record in selectors.pass_records(passes.values_list("pk", flat=True)).values():
            prm800k.parse_record(record)
    elif name == "user-create":
        assert admin.get(f"/api/users/{quote(body['username'], safe='')}/").status_code == 200
    elif name in ("import", "export"):
        run, model = ((upload_jobs.run_import_job, ImportJob) if name == "import"
                      else (downloads.run_export_job, ExportJob))
        run(body["id"])
        job = model.objects.get(pk=body["id"])
        assert job.status in ("succeeded", "failed") and "unexpected error" not in job.error_message, \
            job.error_message


def still_works(client):
    assert client.get("/api/me/").status_code == 200
    r = client.post("/api/tokens/", {"name": "after"}, content_type="application/json")
    assert r.status_code == 201, r.content


@pytest.mark.parametrize("name", list(ENDPOINTS))
@bounded(40)
@given(data=st.data())
def test_bad_payloads(world, name, data):
    method, role, path, id_kind, body = ENDPOINTS[name]
    client = world[role]
    if id_kind:
        ident = world[id_kind] if data.draw(st.integers(0, 5)) else data.draw(st.sampled_from(ODD_IDS[id_kind]))
        path = path.format(id=quote(str(ident), safe="", errors="surrogatepass"))
    if name == "import" and data.draw(st.integers(0, 3)):
        content_type, payload = "upload", data.draw(uploads())
    else:
        content_type, payload = data.draw(requests(body))
    with transaction.atomic():
        if "before" not in world:  # every example starts from the same rows: each one is rolled back
            world["before"] = snapshot()
        r = send(client, method, path, content_type, payload)
        check_response(r, world["before"])
        check_accepted(name, r, world["admin"])
        still_works(client)
        transaction.set_rollback(True)


@st.composite
def uploads(draw):
    """An import's multipart fields: the file (or not, or as text), format and enqueue, odd names."""
    fields = _form(draw(mutated({"format": "auto", "enqueue": False}, KEYS) | st.just({})))
    kind = draw(st.sampled_from(["file", "file", "text", "none"]))
    content = draw(st.sampled_from([b"", b"{}\n", b"\x00", b"\x1f\x8b"]) | st.binary(max_size=64))
    name = draw(st.sampled_from(NASTY_STRINGS[:20] + ["a.jsonl", "a.jsonl.gz", "../../etc/passwd", "x" * 300]))
    if kind == "file":
        fields["file"] = SimpleUploadedFile(name.replace("\ud800", "?") or "f", content)
    elif kind == "text":
        fields["file"] = content.decode("latin-1")
    return fields
