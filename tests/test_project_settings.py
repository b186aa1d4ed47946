"""A project's own settings and protocol at work: lease length, QC interval, screening threshold, neutral or not,
rating every step or stopping at the first error; imports into one project (the same problem may be in two),
exports and commands of one project."""
import io
import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from labeling.exports import rows
from labeling.imports import files as importers
from labeling.models import (
    AuditAction,
    AuditEvent,
    ImportJob,
    LabeledPass,
    Lease,
    Problem,
    Project,
    ProjectMember,
    Role,
    ServeReason,
    Solution,
)
from labeling.queue import claims as queue

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db
STEPS = ("2+2 is 4", "so the answer is 4", "# Answer\n\n4")


def _in(project: Project, username: str = "ann"):
    client, annotator = token_client(username, Role.ANNOTATOR)
    ProjectMember.objects.filter(user=annotator.user).delete()
    ProjectMember.objects.create(project=project, user=annotator.user, role=Role.ANNOTATOR)
    return client, annotator


def _next(client):
    return client.post("/api/tasks/next/", "{}", content_type="application/json").json()


def _submit(client, lease_id, ratings, finish="solution"):
    return client.post(f"/api/tasks/{lease_id}/submit/", json.dumps({
        "client_id": str(uuid.uuid4()), "ratings": [{"rating": r} for r in ratings], "finish_reason": finish,
        "total_time": 1000}), content_type="application/json")


def test_a_lease_lasts_as_long_as_its_projects_lease_length():
    short = Project.objects.create(slug="short", name="Short", lease_seconds=60)
    queued_solutions(1, project=short)
    client, annotator = _in(short)
    before = timezone.now()
    lease = Lease.objects.get(pk=_next(client)["lease"]["id"])
    assert timedelta(seconds=59) <= lease.expires_at - before <= timedelta(seconds=61)
    queued_solutions(1)  # the default project: its 1800 s
    default_lease = queue.next_task(token_client("other", Role.ANNOTATOR)[1])
    assert default_lease.expires_at - before >= timedelta(seconds=1799)


def test_the_qc_question_comes_after_the_projects_interval():
    often = Project.objects.create(slug="often", name="Often", qc_every=1)
    queued_solutions(3, project=often)
    (qc,) = queued_solutions(1, project=often, is_quality_control=True, gold_first_error=-1)
    client, _ = _in(often)
    first = _next(client)["lease"]
    assert Lease.objects.get(pk=first["id"]).reason == ServeReason.PRIORITY
    assert _submit(client, first["id"], [1, 1, 1]).status_code == 200
    second = Lease.objects.get(pk=_next(client)["lease"]["id"])
    assert second.reason == ServeReason.QC and second.solution == qc


def test_screening_passes_at_the_threshold_of_the_project_whose_set_was_answered():
    strict = Project.objects.create(slug="strict", name="Strict", screening_threshold=1.0)
    queued_solutions(2, project=strict)
    queued_solutions(1, project=strict, is_screening=True, gold_first_error=0)
    queued_solutions(1, project=strict, is_screening=True, gold_first_error=-1)
    client, annotator = token_client("new", Role.ANNOTATOR, screened=False)
    ProjectMember.objects.filter(user=annotator.user).delete()
    ProjectMember.objects.create(project=strict, user=annotator.user, role=Role.ANNOTATOR)
    for _ in range(2):  # both screening questions rated all +1: one of two agrees with gold, 0.5 < 1.0
        task = _next(client)["lease"]
        assert Lease.objects.get(pk=task["id"]).reason == ServeReason.SCREENING
        assert _submit(client, task["id"], [1, 1, 1]).status_code == 200
    assert _next(client)["reason"] == "screening_review"
    strict.screening_threshold = 0.5
    strict.save()
    assert _next(client)["lease"] is not None  # at 0.5 the same answers pass


def test_where_neutral_is_not_a_rating_a_submit_with_one_is_refused_and_nothing_lands():
    binary = Project.objects.create(slug="binary", name="Binary", allow_neutral=False)
    queued_solutions(1, project=binary)
    client, _ = _in(binary)
    task = _next(client)["lease"]
    refused = _submit(client, task["id"], [1, 0, 1])
    assert refused.status_code == 400 and refused.json()["field"] == "ratings[1].rating", refused.content
    assert "neutral" in refused.json()["error"] and not LabeledPass.objects.exists()
    draft = client.post(f"/api/tasks/{task['id']}/draft/", json.dumps({"ratings": [{"rating": 0}]}),
                        content_type="application/json")
    assert draft.status_code == 400
    assert _submit(client, task["id"], [1, 1, 1]).status_code == 200


def test_a_pass_lands_in_its_solutions_project():
    other = Project.objects.create(slug="other", name="Other")
    queued_solutions(1, project=other)
    client, _ = _in(other)
    task = _next(client)["lease"]
    assert _submit(client, task["id"], [1, 1, 1]).status_code == 200
    assert list(LabeledPass.objects.values_list("project__slug", flat=True)) == ["other"]


def test_every_step_protocol_rates_on_after_a_wrong_step():
    every = Project.objects.create(slug="every", name="Every", protocol="every_step")
    queued_solutions(2, project=every)
    client, _ = _in(every)
    task = _next(client)["lease"]
    stopped = _submit(client, task["id"], [1, -1], finish="found_error")
    assert stopped.status_code == 400 and "every step" in stopped.json()["error"]
    done = _submit(client, task["id"], [-1, 1, -1], finish="found_error")
    assert done.status_code == 200, done.content
    p = LabeledPass.objects.get()
    assert p.first_error == 0 and [s["completions"][0]["rating"] for s in p.steps] == [-1, 1, -1]
    assert [s["chosen_completion"] for s in p.steps] == [None, 0, None]
    record = rows.pass_records([p.pk])[p.pk]
    assert record["label"]["finish_reason"] == "found_error" and len(record["label"]["steps"]) == 3
    # the first-error protocol still stops at the first -1
    stop = Project.objects.create(slug="stop", name="Stop")
    queued_solutions(1, project=stop)
    c2, _ = _in(stop, "ann2")
    t2 = _next(c2)["lease"]
    assert _submit(c2, t2["id"], [-1, 1, -1], finish="found_error").status_code == 400


@pytest.fixture
def sample(shared_data):
    return shared_data / "prm800k" / "sample.jsonl"


def test_the_same_file_imports_into_two_projects_once_each_and_exports_from_one(sample):
    a = Project.objects.create(slug="a", name="A")
    b = Project.objects.create(slug="b", name="B")
    first = importers.import_prm800k(sample, project=a.pk)
    again = importers.import_prm800k(sample, project=a.pk)
    other = importers.import_prm800k(sample, project=b.pk)
    assert first.created["passes"] == other.created["passes"] > 0 and again.created["passes"] == 0
    assert first.created["problems"] == other.created["problems"] > 0
    assert Problem.objects.filter(project=a).count() == Problem.objects.filter(project=b).count()
    text = Problem.objects.filter(project=a).first().text
    assert Problem.objects.filter(text=text).count() == 2  # the same problem, once in each project
    assert not Solution.objects.filter(project=a).filter(problem__project=b).exists()
    from_a = list(rows.export_rows(rows.passes_for_export(include_qc=True, project=a.pk)))
    assert len(from_a) == first.created["passes"]


def test_commands_take_a_project(sample, tmp_path, capsys):
    Project.objects.create(slug="cmd", name="Cmd")
    call_command("import_prm800k", str(sample), "--no-progress", "--project", "cmd")
    assert "into cmd" in capsys.readouterr().out
    assert LabeledPass.objects.filter(project__slug="cmd").exists() and not LabeledPass.objects.filter(
        project_id=1).exists()
    event = AuditEvent.objects.filter(action=AuditAction.IMPORT).get()
    assert event.project.slug == "cmd"
    out = tmp_path / "cmd.jsonl"
    call_command("export_prm800k", str(out), "--project", "cmd", "--include-qc", "--no-progress")
    assert len(out.read_text().splitlines()) == LabeledPass.objects.filter(project__slug="cmd").count()
    empty = tmp_path / "default.jsonl"
    call_command("export_prm800k", str(empty), "--include-qc", "--no-progress")
    assert empty.read_text() == ""  # the default project has none of them
    with pytest.raises(CommandError, match="--project: no project 'nope'"):
        call_command("export_prm800k", str(empty), "--project", "nope")


def test_an_import_through_the_api_queues_with_the_projects_overlap(django_capture_on_commit_callbacks, eager):
    triple = Project.objects.create(slug="triple", name="Triple", default_overlap=3)
    client, annotator = token_client("adm", Role.ADMIN)
    ProjectMember.objects.create(project=triple, user=annotator.user, role=Role.ADMIN)
    line = json.dumps({"problem": "What is 3+3?", "steps": ["3+3=6", "# Answer\n\n6"], "answer": "6"})
    f = io.BytesIO((line + "\n").encode())
    f.name = "one.jsonl"
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/imports/", {"file": f, "project": "triple", "enqueue": "true"})
    assert r.status_code == 202, r.content
    job = ImportJob.objects.get()
    assert job.status == "succeeded" and job.project == triple, (job.status, job.error_message)
    solution = Solution.objects.get(project=triple)
    assert solution.queue_entry.overlap == 3 and solution.queue_entry.project == triple


def test_screening_is_per_project_and_a_failed_one_closes_only_that_projects_queue():
    a, b = Project.objects.create(slug="sa", name="SA"), Project.objects.create(slug="sb", name="SB")
    queued_solutions(1, project=a, is_screening=True, gold_first_error=-1)
    queued_solutions(1, project=b, is_screening=True, gold_first_error=0)
    (regular_a,) = queued_solutions(1, project=a)
    queued_solutions(1, project=b)
    client, annotator = token_client("new", Role.ANNOTATOR, screened=False)
    ProjectMember.objects.filter(user=annotator.user).delete()
    for p in (a, b):
        ProjectMember.objects.create(project=p, user=annotator.user, role=Role.ANNOTATOR)
    served = []
    for _ in range(2):  # each project's screening question, rated all +1: right for sa, wrong for sb
        task = _next(client)["lease"]
        lease = Lease.objects.get(pk=task["id"])
        assert lease.reason == ServeReason.SCREENING
        served.append(lease.solution.project.slug)
        assert _submit(client, task["id"], [1, 1, 1]).status_code == 200
    assert sorted(served) == ["sa", "sb"]
    nxt = Lease.objects.get(pk=_next(client)["lease"]["id"])  # sb is closed to them, sa is open
    assert nxt.solution == regular_a and nxt.reason == ServeReason.PRIORITY
    members = dict(ProjectMember.objects.filter(user=annotator.user).values_list("project__slug",
                                                                                 "screening_passed_at"))
    assert members["sa"] is not None and members["sb"] is None
    asked = client.post("/api/tasks/next/", json.dumps({"project": "sb"}), content_type="application/json").json()
    assert asked["lease"]["id"] == str(nxt.pk)  # the open lease comes first, whatever the project asked
    assert _submit(client, str(nxt.pk), [1, 1, 1]).status_code == 200
    blocked = client.post("/api/tasks/next/", json.dumps({"project": "sb"}), content_type="application/json").json()
    assert blocked["lease"] is None and blocked["reason"] == "screening_review"
