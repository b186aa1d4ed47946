"""Imports by upload and exports as background jobs: status resources, errors, downloads, permissions."""
import copy
import gzip
import json
import os

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError

from labeling.exports import downloads
from labeling.imports import uploads
from labeling.jobs import background
from labeling.models import ExportJob, ImportJob, LabeledPass, QueueEntry, Solution

from .api_helpers import token_client
from .helpers import read_jsonl, row_counts, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _jobs_run_in_process(eager):
    """The task runs in-process when the job row commits (the upload/export fixtures run on_commit)."""


@pytest.fixture
def admin():
    return token_client("boss", "admin")[0]


@pytest.fixture
def sample(shared_data):
    return (shared_data / "prm800k" / "sample.jsonl").read_bytes()


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    def post(client, content: bytes, name="labels.jsonl", **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/imports/", {"file": SimpleUploadedFile(name, content), **fields})
    return post


@pytest.fixture
def export(django_capture_on_commit_callbacks):
    def post(client, **body):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/exports/", body, content_type="application/json")
    return post


def _no_server_paths(text: str, media) -> None:
    assert str(media) not in text and "file_path" not in text and "Traceback" not in text


def test_upload_import_succeeds_and_counts(admin, sample, media, upload):
    r = upload(admin, sample)
    assert r.status_code == 202, r.content
    assert r["Location"] == f"/api/imports/{r.json()['id']}/"
    job = admin.get(r["Location"]).json()
    assert job["status"] == "succeeded" and job["failure"] is None and job["original_filename"] == "labels.jsonl"
    assert job["stats"]["format"] == "prm800k" and job["stats"]["records"] == 6
    assert job["stats"]["created"]["passes"] == LabeledPass.objects.count() == 6
    assert job["size"] == len(sample) and job["created_by"] == "boss" and job["attempts"] == 1
    assert not (media / "imports" / job["id"]).exists()  # the upload is removed once imported
    again = admin.get(upload(admin, gzip.compress(sample), name="labels.jsonl.gz")["Location"]).json()
    assert again["status"] == "succeeded" and again["stats"]["existing"]["passes"] == 6
    assert again["stats"]["created"]["passes"] == 0
    listed = admin.get("/api/imports/").json()
    assert [j["id"] for j in listed["results"]] == [again["id"], job["id"]]  # newest first
    _no_server_paths(json.dumps(listed), media)


def test_malformed_upload_names_file_line_field_and_writes_nothing(admin, sample, media, upload):
    records = [orjson.loads(line) for line in sample.splitlines()]
    bad = copy.deepcopy(records[3])
    bad["label"]["steps"][1]["completions"][0]["rating"] = 2
    content = b"".join(orjson.dumps(r) + b"\n" for r in [*records[:3], bad])
    before = row_counts()
    job = admin.get(upload(admin, content, name="my data.jsonl")["Location"])
    body = job.json()
    assert body["status"] == "failed" and row_counts() == before
    assert body["failure"] == {
        "message": "my data.jsonl:line 4: field `label.steps[1].completions[0].rating`: must be -1, 0, 1 or null, "
                   "got 2; nothing was imported",
        "file": "my data.jsonl", "line": 4, "field": "label.steps[1].completions[0].rating"}
    _no_server_paths(job.content.decode(), media)


def test_unreadable_upload_fails_without_the_server_path(admin, media, upload):
    truncated = gzip.compress(b'{"problem": "1+1?", "steps": ["2"]}\n' * 50)[:40]
    body = admin.get(upload(admin, truncated, name="x.jsonl.gz")["Location"]).json()
    assert body["status"] == "failed" and body["failure"]["file"] == "x.jsonl.gz"
    _no_server_paths(json.dumps(body), media)
    body = admin.get(upload(admin, b"[1, 2", format="math")["Location"]).json()
    assert body["status"] == "failed" and body["failure"]["message"].startswith("labels.jsonl:line 1: ")


def test_upload_size_limit(admin, settings, media, upload):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    r = upload(admin, b" " * (1024 * 1024 + 1))
    assert r.status_code == 413 and r.json()["field"] == "file" and "1 MB" in r.json()["error"]
    assert not ImportJob.objects.exists() and not any(media.rglob("*.jsonl"))
    # A body that says it is too big is refused before it is read.
    r = admin.post("/api/imports/", {"file": SimpleUploadedFile("a.jsonl", b"{}")}, CONTENT_LENGTH=3 * 1024 * 1024)
    assert r.status_code == 413


def test_upload_enqueues_solutions_in_file_order(admin, upload):
    recs = [{"problem": f"What is {i}+{i}?", "ground_truth_answer": str(2 * i), "steps": [f"{2 * i}"]}
            for i in range(3)]
    content = b"".join(orjson.dumps(r) + b"\n" for r in recs)
    job = admin.get(upload(admin, content, enqueue="true")["Location"]).json()
    assert job["stats"]["format"] == "jsonl" and job["stats"]["enqueued"] == 3 and job["enqueue"] is True
    order = QueueEntry.objects.order_by("-priority").values_list("solution__problem__text", flat=True)
    assert list(order) == [r["problem"] for r in recs]
    again = admin.get(upload(admin, content, enqueue="true")["Location"]).json()
    assert again["stats"]["enqueued"] == 0 and QueueEntry.objects.count() == 3
    upload(admin, content.replace(b"What", b"Who"))
    assert Solution.objects.count() == 6 and QueueEntry.objects.count() == 3  # enqueue is opt-in


def test_bad_requests_are_json_errors(admin):
    r = admin.post("/api/imports/", {"format": "prm800k"})
    assert r.status_code == 400 and r.json()["field"] == "file"
    r = admin.post("/api/imports/", {"file": SimpleUploadedFile("a.jsonl", b"{}"), "format": "csv"})
    assert r.status_code == 400 and r.json()["field"] == "format"
    r = admin.post("/api/exports/", {"format": "csv"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "format"
    assert admin.get("/api/exports/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.fixture
def imported(admin, sample, upload):
    upload(admin, sample)
    return [orjson.loads(line) for line in sample.splitlines()]


def test_export_job_with_filters_and_download(admin, imported, media, tmp_path, export):
    r = export(admin, format="prm800k", generations=[6])
    assert r.status_code == 202, r.content
    job = admin.get(r["Location"]).json()
    want = [rec for rec in imported if rec["generation"] == 6]
    assert job["status"] == "succeeded" and job["lines"] == len(want) > 0 and job["generations"] == [6]
    assert job["download"].endswith(f"/api/exports/{job['id']}/download/")
    got = admin.get(job["download"])
    assert got.status_code == 200 and got["Content-Type"] == "application/jsonl"
    assert got["Content-Disposition"].startswith('attachment; filename="stepwise-export-')
    assert got["Content-Disposition"].endswith('.jsonl"')
    data = b"".join(got.streaming_content)
    assert [orjson.loads(line) for line in data.splitlines()] == want and len(data) == job["size"]
    # The same bytes as the command with the same options.
    run("export_prm800k", str(tmp_path / "cli.jsonl"), "--generation", "6")
    assert data == (tmp_path / "cli.jsonl").read_bytes()
    whole = admin.get(export(admin)["Location"]).json()
    run("export_prm800k", str(tmp_path / "all.jsonl"))
    assert b"".join(admin.get(whole["download"]).streaming_content) == (tmp_path / "all.jsonl").read_bytes()
    _no_server_paths(json.dumps(admin.get("/api/exports/").json()), media)


def test_gzip_and_trl_export(admin, imported, tmp_path, export):
    job = admin.get(export(admin, format="trl", neutral="drop", gzip=True)["Location"]).json()
    assert job["status"] == "succeeded" and job["gzip"] is True and job["neutral"] == "drop"
    got = admin.get(job["download"])
    assert got["Content-Type"] == "application/gzip" and got["Content-Disposition"].endswith('.jsonl.gz"')
    assert not got.has_header("Content-Encoding")  # a .gz file, not a compressed transfer
    data = b"".join(got.streaming_content)
    assert len(data) == job["size"]
    run("export_prm800k", str(tmp_path / "cli.jsonl"), "--format", "trl", "--neutral", "drop")
    assert gzip.decompress(data) == (tmp_path / "cli.jsonl").read_bytes()
    assert job["lines"] == len(read_jsonl(tmp_path / "cli.jsonl")) > 0


def test_download_is_409_until_done(admin, media):
    job = downloads.create_export_job(None)  # not run: on_commit never fires outside a capture
    r = admin.get(f"/api/exports/{job.id}/download/")
    assert r.status_code == 409 and r.json()["field"] == "status" and "queued" in r.json()["error"]
    assert admin.get(f"/api/exports/{job.id}/").json()["download"] is None
    ExportJob.objects.filter(pk=job.pk).update(status="failed", error_message="boom")
    r = admin.get(f"/api/exports/{job.id}/download/", HTTP_ACCEPT="application/gzip")
    assert r.status_code == 409 and r.json()["error"].endswith(": boom")


def test_redelivery_does_not_rerun_a_finished_job(admin, imported, export):
    job = ExportJob.objects.get(pk=export(admin).json()["id"])
    assert job.status == "succeeded"
    assert downloads.run_export_job(job.id) == "not run"
    assert ExportJob.objects.get(pk=job.pk).attempts == 1
    imp = ImportJob.objects.get()
    assert uploads.run_import_job(str(imp.id)) == "not run"


def test_crashed_run_ends_failed_with_a_reason(admin, imported, monkeypatch, export):
    def boom(*a, **k):
        raise RuntimeError(f"disk full at {downloads.settings.MEDIA_ROOT}")

    monkeypatch.setattr(downloads.exporters, "write_export", boom)
    job = admin.get(export(admin)["Location"]).json()
    assert job["status"] == "failed" and "RuntimeError" in job["failure"]["message"]
    assert str(downloads.settings.MEDIA_ROOT) not in job["failure"]["message"]
    # A worker lost mid-run: the task comes again and reruns; after MAX_ATTEMPTS it gives up.
    stuck = downloads.create_export_job(None)
    ExportJob.objects.filter(pk=stuck.pk).update(status="running", attempts=background.MAX_ATTEMPTS)
    assert downloads.run_export_job(stuck.id) == "not run"
    stuck.refresh_from_db()
    assert stuck.status == "failed" and "stopped 3 times" in stuck.error_message
    monkeypatch.undo()
    lost = downloads.create_export_job(None)
    ExportJob.objects.filter(pk=lost.pk).update(status="running", attempts=1)
    assert downloads.run_export_job(lost.id) == "succeeded"


def test_ml_staff_export_but_not_import_and_annotator_neither(sample, upload, export):
    ml, _ = token_client("ml", "ml_staff")
    r = upload(ml, sample)
    assert r.status_code == 403 and not ImportJob.objects.exists()
    assert ml.get("/api/imports/").status_code == 403
    ml_job = export(ml)
    assert ml_job.status_code == 202 and ml.get(ml_job["Location"]).json()["status"] == "succeeded"
    ann, _ = token_client("ann", "annotator")
    for url in ("/api/imports/", "/api/exports/", ml_job["Location"], ml_job["Location"] + "download/"):
        assert ann.get(url).status_code == 403, url
    assert export(ann).status_code == 403
    assert upload(ann, sample).status_code == 403


@pytest.mark.postgres
def test_a_second_delivery_does_not_run_beside_the_first():
    from django.db import connections

    job = downloads.create_export_job(None)
    other = connections.create_connection("default")  # stands for the worker still running it
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", [background.lock_key(job.id)])
        assert downloads.run_export_job(job.id) == "running elsewhere"
        assert ExportJob.objects.get(pk=job.pk).status == "queued"
    finally:
        with other.cursor() as cur:  # the server frees it when the session ends too, a moment after close()
            cur.execute("SELECT pg_advisory_unlock_all()")
        other.close()
    assert downloads.run_export_job(job.id) == "succeeded"


def test_import_colliding_with_a_concurrent_one_runs_again(admin, sample, monkeypatch, upload):
    real, calls = uploads.importers.run_import, []

    def first_collides(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real(*args, **kwargs)

    monkeypatch.setattr(uploads.importers, "run_import", first_collides)
    job = admin.get(upload(admin, sample)["Location"]).json()
    assert job["status"] == "succeeded" and len(calls) == 2 and job["stats"]["created"]["passes"] == 6


def test_broker_down_fails_the_job_instead_of_leaving_it_queued(admin, monkeypatch, export):
    from labeling import celery_tasks

    def down(*a, **k):
        raise ConnectionRefusedError("broker")

    monkeypatch.setattr(celery_tasks.run_export_job, "delay", down)
    r = export(admin)
    assert r.status_code == 202
    job = admin.get(r["Location"]).json()
    assert job["status"] == "failed" and "broker is unavailable" in job["failure"]["message"]


def test_old_export_files_expire_and_their_download_is_gone(admin, imported, export, settings):
    from datetime import timedelta

    from django.utils import timezone

    from labeling.exports import downloads
    from labeling.models import ExportJob

    job = admin.get(export(admin)["Location"]).json()
    path = ExportJob.objects.get(pk=job["id"]).file_path
    assert downloads.expire_exports() == 0 and os.path.exists(path)  # fresh: kept
    later = timezone.now() + timedelta(days=settings.EXPORT_KEEP_DAYS, minutes=1)
    assert downloads.expire_exports(now=later) == 1 and not os.path.exists(path)
    r = admin.get(job["download"])
    assert r.status_code == 410 and "no longer on the server" in r.json()["error"]
    assert admin.get(f"/api/exports/{job['id']}/").json()["status"] == "succeeded"  # the record stays


def test_a_phase1_parquet_upload_imports_its_passes_and_a_bad_row_is_named(admin, shared_data, upload):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = shared_data / "prm800k-phase1" / "phase1_train.stepwise-critic.parquet"
    rows = pq.read_table(path).slice(0, 300).to_pylist()
    buf = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    job = admin.get(upload(admin, buf.getvalue().to_pybytes(), name="phase1.parquet")["Location"]).json()
    assert job["status"] == "succeeded" and job["stats"]["format"] == "stepwise-critic"
    assert job["stats"]["created"]["passes"] == LabeledPass.objects.count() > 0
    rows[7]["rating"] = 5.0
    bad = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), bad)
    before = LabeledPass.objects.count()
    job = admin.get(upload(admin, bad.getvalue().to_pybytes(), name="bad.parquet",
                           format="stepwise-critic")["Location"]).json()
    assert job["status"] == "failed" and job["failure"]["line"] == 8 and job["failure"]["field"] == "rating"
    assert job["failure"]["message"].startswith("bad.parquet:row 8: field `rating`")
    assert LabeledPass.objects.count() == before


def test_an_export_job_by_source_matches_the_command(admin, export, tmp_path):
    from activelearn.labellers import runs
    from labeling.demo.seed import seed_problems

    seed_problems(n_problems=6, n_solutions=3)
    run_ = runs.start_run("ro", "rollout", {"k": 2}, {})
    runs.run_chunk(run_, run_.params["solution_ids"])
    r = export(admin, format="processbench", sources=["rollout", "human"])
    assert r.status_code == 202, r.content
    job = admin.get(r["Location"]).json()
    assert job["status"] == "succeeded" and job["sources"] == ["rollout", "human"]
    data = b"".join(admin.get(job["download"]).streaming_content)
    run("export_step_labels", str(tmp_path / "cli.jsonl"), "--source", "rollout", "--source", "human",
        "--format", "processbench")
    assert data == (tmp_path / "cli.jsonl").read_bytes() and job["lines"] > 0
    assert {orjson.loads(line)["source"] for line in data.splitlines()} == {"rollout", "human"}
    people = admin.get(export(admin, format="step-labels")["Location"]).json()
    assert people["sources"] == ["human"] and people["status"] == "succeeded"
    for body, field in (({"format": "prm800k", "sources": ["judge"]}, "sources"),
                        ({"format": "step-labels", "sources": ["people"]}, "sources")):
        r = export(admin, **body)
        assert r.status_code == 400 and r.json()["field"].startswith(field), r.content
