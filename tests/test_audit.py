"""The audit trail: every audited action gives exactly one event with its actor, target and
details, in the transaction of the change (a failed or refused change leaves none); the trail is
append-only, readable in the admin and at /api/audit/ by admins only."""
import getpass
import io
from datetime import timedelta

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from activelearn.models import ModelVersion, Round
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.config import RoundConfigError
from api.models import ApiToken
from labeling.imports import uploads
from labeling.models import AuditEvent, ExportJob, ImportJob, Role, RunStatus
from labeling.people import accounts, audit

from .api_helpers import token_client
from .helpers import write_jsonl

pytestmark = pytest.mark.django_db
User = get_user_model()

RECORDS = [{"problem": "What is $2+3$?", "ground_truth_answer": "5", "steps": ["$2+3=5$.", "# Answer\n\n5"],
            "answer": "5", "is_correct": True, "generator": "g"},
           {"problem": "What is $1+1$?", "ground_truth_answer": "2", "steps": ["1+1=2", "# Answer\n\n2"],
            "answer": "2", "is_correct": True, "generator": "g"}]
BAD = RECORDS[:1] + [{"problem": 7, "ground_truth_answer": "2", "steps": ["x"]}]


def only_event(**filters) -> AuditEvent:
    events = list(AuditEvent.objects.filter(**filters))
    assert len(events) == 1, [(e.action, e.actor_name, e.target_label) for e in AuditEvent.objects.all()]
    return events[0]


def new_events(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=before).order_by("id"))


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def admin():
    client, annotator = token_client("boss", Role.ADMIN)
    return client, annotator.user


@pytest.fixture
def ml():
    client, annotator = token_client("ml", Role.ML_STAFF)
    return client, annotator.user


# --- imports and exports -------------------------------------------------------------------------------------------

def test_import_command_records_one_event_with_the_actor_and_counts(tmp_path, admin):
    path = write_jsonl(tmp_path / "two.jsonl", RECORDS)
    start = last_id()
    call_command("import_solutions", str(path), "--no-progress", "--actor", "boss", stdout=io.StringIO())
    [event] = new_events(start)
    assert (event.action, event.actor, event.actor_name, event.source) == ("data.import", admin[1], "boss", "cli")
    assert (event.target_type, event.target_id) == ("file", "two.jsonl")
    assert event.details["records"] == 2 and event.details["created"]["solutions"] == 2
    assert str(tmp_path) not in orjson.dumps(event.details).decode()  # a file name, never a server path


def test_import_command_without_actor_names_the_os_user_and_dry_run_records_nothing(tmp_path):
    path = write_jsonl(tmp_path / "two.jsonl", RECORDS)
    call_command("import_solutions", str(path), "--no-progress", "--dry-run", stdout=io.StringIO())
    assert not AuditEvent.objects.exists()
    call_command("import_solutions", str(path), "--no-progress", stdout=io.StringIO())
    event = only_event(action="data.import")
    assert event.actor is None and event.actor_name == f"os:{getpass.getuser()}"


def test_failed_import_command_records_nothing(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", BAD)
    with pytest.raises(CommandError, match="line 2"):
        call_command("import_solutions", str(path), "--no-progress", stdout=io.StringIO())
    assert not AuditEvent.objects.exists()
    with pytest.raises(CommandError, match="no user named"):
        call_command("import_solutions", str(path), "--no-progress", "--actor", "nobody", stdout=io.StringIO())


def test_import_job_records_the_uploader_once_and_a_failed_one_nothing(admin, eager,
                                                                      django_capture_on_commit_callbacks):
    client, boss = admin
    body = b"".join(orjson.dumps(r) + b"\n" for r in RECORDS)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/imports/", {"file": SimpleUploadedFile("mine.jsonl", body)})
    assert r.status_code == 202, r.content
    job = ImportJob.objects.get(pk=r.json()["id"])
    assert job.status == RunStatus.SUCCEEDED
    event = only_event(action="data.import")
    assert (event.actor, event.target_type, event.target_id) == (boss, "labeling.importjob", str(job.pk))
    assert event.details["file"] == "mine.jsonl" and event.details["records"] == 2
    assert uploads.run_import_job(job.pk) == "not run"  # a redelivered task changes nothing, records nothing
    assert AuditEvent.objects.filter(action="data.import").count() == 1

    bad = b"".join(orjson.dumps(r) + b"\n" for r in BAD)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/imports/", {"file": SimpleUploadedFile("bad.jsonl", bad)})
    assert ImportJob.objects.get(pk=r.json()["id"]).status == RunStatus.FAILED
    assert AuditEvent.objects.filter(action="data.import").count() == 1


def test_export_job_and_command_record_who_exported_what(tmp_path, ml, eager, django_capture_on_commit_callbacks):
    client, staff = ml
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/exports/", {"format": "trl", "generations": [3], "neutral": "drop"},
                        content_type="application/json")
    job = ExportJob.objects.get(pk=r.json()["id"])
    assert job.status == RunStatus.SUCCEEDED
    event = only_event(action="data.export")
    assert (event.actor, event.target_id) == (staff, str(job.pk))
    assert event.details == {"format": "trl", "gzip": False, "lines": 0, "generations": [3], "include_qc": False,
                             "neutral": "drop"}

    call_command("export_prm800k", str(tmp_path / "out.jsonl"), "--no-progress", "--actor", "ml",
                 stdout=io.StringIO())
    event = AuditEvent.objects.filter(action="data.export").order_by("-id").first()
    assert (event.actor, event.source, event.target_id) == (staff, "cli", "out.jsonl")
    assert event.details["complete"] is True and event.details["lines"] == 0
    assert AuditEvent.objects.filter(action="data.export").count() == 2


# --- people: users, roles, screening, tokens -------------------------------------------------------------------------

def test_creating_a_user_is_one_event_and_a_role_change_another(admin):
    client, boss = admin
    start = last_id()
    r = client.post("/api/users/", {"username": "new", "password": "pw-for-tests-only-1", "role": "annotator"},
                    content_type="application/json")
    assert r.status_code == 201, r.content
    [event] = new_events(start)
    assert (event.action, event.actor, event.target_label, event.details["role"]) == \
        ("user.create", boss, "new", "annotator")
    r = client.patch("/api/users/new/", {"role": "ml_staff"}, content_type="application/json",
                     HTTP_X_REQUEST_ID="req-42")
    assert r.status_code == 200 and r["X-Request-ID"] == "req-42"
    [event] = new_events(event.id)
    assert (event.action, event.actor, event.source, event.request_id) == ("role.change", boss, "api", "req-42")
    assert event.details == {"from": "annotator", "to": "ml_staff"}
    # the same role again changes nothing and records nothing
    client.patch("/api/users/new/", {"role": "ml_staff"}, content_type="application/json")
    assert new_events(event.id) == []


def test_deactivation_and_password_change_are_recorded_without_the_password(admin):
    client, boss = admin
    accounts.set_user("someone", "pw-for-tests-only", Role.ANNOTATOR)
    start = last_id()
    r = client.patch("/api/users/someone/", {"is_active": False, "password": "a-new-secret-pw-123"},
                     content_type="application/json")
    assert r.status_code == 200, r.content
    [event] = new_events(start)
    assert event.action == "user.update" and event.actor == boss
    assert event.details == {"password": "changed", "is_active": {"from": True, "to": False}}
    assert "a-new-secret-pw-123" not in orjson.dumps(event.details).decode()


def test_resetting_an_existing_login_records_the_password_change():
    accounts.set_user("demo-reset", "pw-for-tests-only", Role.ANNOTATOR)
    start = last_id()
    accounts.set_user("demo-reset", "another-pw-for-tests", Role.ML_STAFF)
    assert [(e.action, e.details) for e in new_events(start)] == [
        ("user.update", {"password": "changed"}), ("role.change", {"from": "annotator", "to": "ml_staff"})]


def test_refused_change_records_nothing(admin):
    client, boss = admin
    start = last_id()
    r = client.patch("/api/users/boss/", {"role": "annotator"}, content_type="application/json")
    assert r.status_code == 400
    assert new_events(start) == []


def test_screening_decisions_from_the_api_and_the_page(admin):
    client, boss = admin
    other = accounts.set_user("labeller", "pw-for-tests-only", Role.ANNOTATOR)
    start = last_id()
    assert client.post("/api/users/labeller/screening/", {"action": "approve"},
                       content_type="application/json").status_code == 200
    [event] = new_events(start)
    assert (event.action, event.actor, event.source, event.target_label) == ("screening.approve", boss, "api",
                                                                             "labeller")
    assert event.details["before"]["screening_passed_at"] is None
    page = Client()
    page.force_login(boss)
    assert page.post(reverse("screening-decision", args=[other.uuid]), {"action": "reset"}).status_code == 302
    [event] = new_events(event.id)
    assert (event.action, event.source) == ("screening.reset", "web")
    page.post(reverse("screening-decision", args=[other.uuid]), {"action": "maybe"})
    assert new_events(event.id) == []


def test_token_create_and_revoke_once_never_the_key(admin):
    client, boss = admin
    start = last_id()
    r = client.post("/api/tokens/", {"name": "cluster"}, content_type="application/json")
    key = r.json()["key"]
    [event] = new_events(start)
    assert (event.action, event.actor, event.details["name"], event.details["owner"]) == \
        ("token.create", boss, "cluster", "boss")
    assert key not in orjson.dumps(event.details).decode() and key[10:] not in event.target_label
    token = ApiToken.objects.get(name="cluster")
    assert client.delete(f"/api/tokens/{token.pk}/").status_code == 204
    assert client.delete(f"/api/tokens/{token.pk}/").status_code == 204  # already revoked: no second event
    [event] = new_events(event.id)
    assert (event.action, event.actor, event.target_id) == ("token.revoke", boss, str(token.pk))


def test_token_command_records_the_actor():
    accounts.set_user("owner", "pw-for-tests-only", Role.ANNOTATOR)
    admin_user = accounts.set_user("root-ish", "pw-for-tests-only", Role.ADMIN).user
    call_command("create_api_token", "owner", "laptop", "--actor", "root-ish", stdout=io.StringIO())
    event = only_event(action="token.create")
    assert (event.actor, event.source, event.details["owner"]) == (admin_user, "cli", "owner")
    assert ApiToken.objects.get(name="laptop").created_by == admin_user


def test_admin_role_and_user_changes_are_recorded(admin):
    root = User.objects.create_superuser("root", "root@example.org", "pw-for-tests-only")
    page = Client()
    page.force_login(root)
    target = accounts.set_user("moved", "pw-for-tests-only", Role.ANNOTATOR)
    start = last_id()
    r = page.post(reverse("admin:labeling_annotator_change", args=[target.pk]),
                  {"user": target.user_id, "role": Role.ML_STAFF, "screening_passed_at_0": "",
                   "screening_passed_at_1": "", "screening_agreement": ""})
    assert r.status_code == 302, r.content[:2000]
    [event] = new_events(start)
    assert (event.action, event.actor, event.source, event.details) == \
        ("role.change", root, "admin", {"from": "annotator", "to": "ml_staff"})

    user = target.user
    form = {"username": "moved", "first_name": "", "last_name": "", "email": "", "is_staff": "on",
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "last_login_0": "", "last_login_1": "",
            "groups": list(user.groups.values_list("pk", flat=True))}  # is_active left out: deactivate
    r = page.post(reverse("admin:auth_user_change", args=[user.pk]), form)
    assert r.status_code == 302, r.content[:3000]
    [event] = new_events(event.id)
    assert (event.action, event.actor, event.details) == ("user.update", root, {"is_active": False})

    r = page.post(reverse("admin:auth_user_password_change", args=[user.pk]),
                  {"password1": "Another-pw-4-tests", "password2": "Another-pw-4-tests", "usable_password": "true"})
    assert r.status_code == 302, r.content[:3000]
    [event] = new_events(event.id)
    assert (event.action, event.details) == ("user.update", {"password": "changed"})


def test_first_use_role_is_recorded_as_given_by_the_system():
    plain = User.objects.create_user("plain", password="pw-for-tests-only")
    accounts.annotator_for(plain)
    accounts.annotator_for(plain)
    event = only_event(action="role.change")
    assert (event.actor, event.details) == (None, {"from": None, "to": "annotator"})


# --- rounds and models ---------------------------------------------------------------------------------------------

@pytest.fixture
def no_dispatch(monkeypatch):
    monkeypatch.setattr(rounds, "dispatch", lambda round_id: True)


def test_round_start_cancel_resume_through_the_api(ml, no_dispatch, django_capture_on_commit_callbacks):
    client, staff = ml
    start = last_id()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/rounds/", {"strategy": "uniform", "round_cap": 5}, content_type="application/json")
    assert r.status_code == 201, r.content
    round_ = Round.objects.get()
    [event] = new_events(start)
    assert (event.action, event.actor, event.target_type, event.target_id) == \
        ("round.start", staff, "activelearn.round", str(round_.pk))
    assert event.details["config"]["strategy"] == "uniform" and event.details["config"]["round_cap"] == 5
    # a second start is refused (busy): no event
    assert client.post("/api/rounds/", {}, content_type="application/json").status_code == 409
    assert client.post(f"/api/rounds/{round_.pk}/cancel/").status_code == 200
    assert client.post(f"/api/rounds/{round_.pk}/cancel/").status_code == 400  # not active any more
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/rounds/{round_.pk}/resume/").status_code == 200
    assert [(e.action, e.actor) for e in new_events(event.id)] == [("round.cancel", staff), ("round.resume", staff)]
    resumed = AuditEvent.objects.get(action="round.resume")
    assert resumed.details == {"attempt": 2, "stages_done": []}


def test_round_commands_take_an_actor(ml, no_dispatch):
    _, staff = ml
    call_command("start_round", "--strategy", "uniform", "--actor", "ml", stdout=io.StringIO(), stderr=io.StringIO())
    generation = str(Round.objects.get().generation)
    call_command("cancel_round", generation, stdout=io.StringIO())
    call_command("resume_round", generation, "--actor", "ml", stdout=io.StringIO(), stderr=io.StringIO())
    events = list(AuditEvent.objects.filter(action__startswith="round.").order_by("id"))
    assert [(e.action, e.actor, e.source) for e in events] == [
        ("round.start", staff, "cli"), ("round.cancel", None, "cli"), ("round.resume", staff, "cli")]
    assert events[1].actor_name == f"os:{getpass.getuser()}"


def test_round_config_error_records_nothing(ml):
    start = last_id()
    with pytest.raises(RoundConfigError):
        rounds.start_round({"strategy": "psychic"}, ml[1])
    assert new_events(start) == []


def test_model_activation_once_with_the_previous_version(ml):
    client, staff = ml
    ready = dict(base_model="micro", status=ModelVersion.Status.READY, finished_at=timezone.now())
    old = ModelVersion.objects.create(**ready, is_active=True)
    new = ModelVersion.objects.create(**ready)
    start = last_id()
    assert client.post(f"/api/models/{new.pk}/activate/").status_code == 200
    assert client.post(f"/api/models/{new.pk}/activate/").status_code == 200  # already active: nothing changes
    [event] = new_events(start)
    assert (event.action, event.actor, event.target_id) == ("model.activate", staff, str(new.pk))
    assert event.details == {"kind": "prm", "previous": old.pk}
    failed = ModelVersion.objects.create(base_model="micro", status=ModelVersion.Status.FAILED)
    assert client.post(f"/api/models/{failed.pk}/activate/").status_code == 400
    assert new_events(event.id) == []


# --- the trail itself ----------------------------------------------------------------------------------------------

def test_events_are_append_only_and_outlive_their_actor(admin):
    _, boss = admin
    event = audit.record(boss, "token.create", audit.Target("file", "x"), n=1)
    event.details = {"n": 2}
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="someone else")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    boss.delete()
    event.refresh_from_db()
    assert event.actor is None and event.actor_name == "boss" and event.details == {"n": 1}


@pytest.mark.postgres
def test_postgres_refuses_rewrites_of_audit_rows(admin):
    event = audit.record(admin[1], "token.create", audit.Target("file", "x"))
    for sql in ("UPDATE labeling_auditevent SET actor_name = 'x' WHERE id = %s",
                "DELETE FROM labeling_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [event.pk])


def test_an_event_rolls_back_with_its_change():
    user = accounts.set_user("x", "pw-for-tests-only", Role.ANNOTATOR).user
    start = last_id()
    with pytest.raises(RuntimeError), transaction.atomic():
        accounts.change_role(user, Role.ADMIN)
        raise RuntimeError("the change fails after the event was written")
    assert new_events(start) == []


def test_audit_api_lists_and_filters_for_admins_only(admin, ml):
    client, boss = admin
    ml_client, staff = ml
    audit.record(boss, "role.change", staff, **{"from": "annotator", "to": "ml_staff"})
    audit.record(staff, "round.start", audit.Target("activelearn.round", "7", "round 7"))
    r = client.get("/api/audit/")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == AuditEvent.objects.count() and body["results"][0]["action"] == "round.start"
    assert set(body["results"][0]) == {"id", "created_at", "actor", "action", "source", "target_type", "target_id",
                                       "target_label", "details", "request_id", "project"}
    assert [e["actor"] for e in client.get("/api/audit/", {"actor": "ml"}).json()["results"]] == ["ml"]
    picked = client.get("/api/audit/?action=role.change&action=round.start").json()["results"]
    assert [e["action"] for e in picked] == ["round.start", "role.change"]
    assert client.get("/api/audit/", {"target_type": "activelearn.round", "target_id": "7"}).json()["count"] == 1
    now = timezone.now()
    assert client.get("/api/audit/", {"since": (now + timedelta(minutes=1)).isoformat()}).json()["count"] == 0
    assert client.get("/api/audit/", {"until": (now + timedelta(minutes=1)).isoformat()}).json()["count"] == \
        AuditEvent.objects.count()
    assert client.get("/api/audit/", {"page_size": 1}).json()["next"]
    assert client.get("/api/audit/", {"action": "nonsense"}).status_code == 400
    assert ml_client.get("/api/audit/").status_code == 403  # ML staff: no (their own actions are in it)


def test_admin_lists_events_read_only(admin):
    root = User.objects.create_superuser("root", "root@example.org", "pw-for-tests-only")
    event = audit.record(admin[1], "token.create", audit.Target("file", "x", "the x file"))
    page = Client()
    page.force_login(root)
    listing = page.get(reverse("admin:labeling_auditevent_changelist"), {"action__exact": "token.create"})
    assert listing.status_code == 200 and b"the x file" in listing.content
    assert page.get(reverse("admin:labeling_auditevent_change", args=[event.pk])).status_code == 200
    assert page.get(reverse("admin:labeling_auditevent_add")).status_code == 403
    assert page.post(reverse("admin:labeling_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    # the Django admin is for superusers only (issue 25): the admin role reads the trail at /api/audit/
    for user in (admin[1], accounts.set_user("mls", "pw-for-tests-only", Role.ML_STAFF).user):
        other = Client()
        other.force_login(user)
        r = other.get(reverse("admin:labeling_auditevent_changelist"))
        assert r.status_code == 302 and r["Location"].startswith(reverse("admin:login"))
