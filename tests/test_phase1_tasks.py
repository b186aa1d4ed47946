"""PRM800K phase 1 served again: phase-1 records become tasks with every step's candidates; labelled in a
project of the `alternatives` protocol (rate every candidate, choose one to continue or write your own, go on
after a bad candidate), a pass exports as a phase-1 record equal to the original field for field (but who, when
and how long), and importing that export again adds nothing."""
import io
import json
import uuid

import orjson
import pytest
from django.core.management import call_command

from labeling.exports import rows, writers
from labeling.models import LabeledPass, Project, ProjectMember, Role, Solution

from .api_helpers import token_client

pytestmark = pytest.mark.django_db


def phase1_records(shared_data) -> list[dict]:
    """The sample's phase-1 records that a person finished with every candidate rated."""
    out = []
    for line in (shared_data / "prm800k" / "sample.jsonl").read_text().splitlines():
        r = json.loads(line)
        steps = r["label"]["steps"]
        if "pre_generated_steps" in r["question"] or r["label"]["finish_reason"] != "solution":
            continue
        if all(all(c["rating"] is not None for c in s["completions"]) and
               (s["chosen_completion"] is not None or s["human_completion"]) for s in steps):
            out.append(r)
    return out


def ratings_of(record: dict) -> list[dict]:
    """What the labelling page sends to label this record again exactly as its labeller did."""
    out = []
    for s in record["label"]["steps"]:
        first, *others = s["completions"]
        out.append({"rating": first["rating"], "flagged": first["flagged"],
                    "alternatives": [{"rating": c["rating"], "flagged": c["flagged"]} for c in others],
                    "chosen": s["chosen_completion"],
                    "human_completion": (s["human_completion"] or {}).get("text") or ""})
    return out


@pytest.fixture
def phase1(tmp_path, shared_data):
    records = phase1_records(shared_data)
    assert len(records) >= 2, "the sample has phase-1 records"
    path = tmp_path / "phase1.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    project = Project.objects.create(slug="phase1", name="Phase 1", protocol="alternatives")
    call_command("import_prm800k", str(path), "--as-tasks", "--enqueue", "--project", "phase1", "--no-progress",
                 stdout=io.StringIO())
    return project, records, path


def test_phase1_records_become_tasks_with_every_candidate(phase1):
    project, records, _ = phase1
    assert Solution.objects.filter(project=project).count() == len(records) and not LabeledPass.objects.exists()
    s = Solution.objects.filter(project=project).order_by("id").first()
    first = records[0]["label"]["steps"]
    assert s.steps == [step["completions"][0]["text"] for step in first]
    assert all(s.extra["alternatives"].get(str(k), []) == [c["text"] for c in step["completions"][1:]]
               for k, step in enumerate(first))


def test_a_phase1_pass_exports_as_the_original_record_field_for_field(phase1, tmp_path):
    project, records, _ = phase1
    client, annotator = token_client("p1", Role.ANNOTATOR)
    ProjectMember.objects.filter(user=annotator.user).update(project=project)
    by_problem = {r["question"]["problem"]: r for r in records}
    for _ in records:
        task = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
        original = by_problem[task["problem"]]
        r = client.post(f"/api/tasks/{task['id']}/submit/", json.dumps({
            "client_id": str(uuid.uuid4()), "ratings": ratings_of(original), "finish_reason": "solution",
            "total_time": 1000}), content_type="application/json")
        assert r.status_code == 200, r.content
    exported = [orjson.loads(line) for line in writers.prm800k_lines(rows.passes_for_export(project=project.pk))]
    assert len(exported) == len(records)
    for rec in exported:
        original = by_problem[rec["question"]["problem"]]
        assert rec["labeler"] == str(annotator.uuid) and rec["label"]["total_time"] == 1000
        for key in ("generation", "is_quality_control_question", "is_initial_screening_question", "question"):
            assert rec[key] == original[key], key
        assert rec["label"]["steps"] == original["label"]["steps"]
        assert rec["label"]["finish_reason"] == original["label"]["finish_reason"]
        assert list(rec) == list(original) and list(rec["label"]) == list(original["label"])
    out = tmp_path / "again.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in exported))
    before = LabeledPass.objects.count()
    call_command("import_prm800k", str(out), "--project", "phase1", "--no-progress", stdout=io.StringIO())
    assert LabeledPass.objects.count() == before  # recognised: the same passes


@pytest.mark.parametrize("change, field", [
    (lambda r: r[0].update(chosen=None, human_completion=""), "ratings[0].chosen"),
    (lambda r: r[0]["alternatives"].pop(), "ratings[0].alternatives"),
    (lambda r: r[0].update(chosen=99), "ratings[0].chosen"),
])
def test_an_incomplete_phase1_step_is_refused_naming_it(phase1, change, field):
    project, records, _ = phase1
    client, annotator = token_client("p1", Role.ANNOTATOR)
    ProjectMember.objects.filter(user=annotator.user).update(project=project)
    task = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
    original = next(r for r in records if r["question"]["problem"] == task["problem"])
    ratings = ratings_of(original)
    if field.endswith("alternatives") and not ratings[0]["alternatives"]:
        ratings[0]["alternatives"] = [{"rating": 1}] * 9  # more than the step has
    else:
        change(ratings)
    r = client.post(f"/api/tasks/{task['id']}/submit/", json.dumps({
        "client_id": str(uuid.uuid4()), "ratings": ratings, "finish_reason": "solution", "total_time": 5}),
        content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == field, r.content
    assert not LabeledPass.objects.exists()


def test_giving_up_mid_step_keeps_what_was_rated(phase1):
    project, records, _ = phase1
    client, annotator = token_client("p1", Role.ANNOTATOR)
    ProjectMember.objects.filter(user=annotator.user).update(project=project)
    task = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
    original = next(r for r in records if r["question"]["problem"] == task["problem"])
    ratings = ratings_of(original)[:2]
    ratings[1] = {"rating": 1, "alternatives": []}  # half of the second step
    r = client.post(f"/api/tasks/{task['id']}/give-up/", json.dumps({
        "client_id": str(uuid.uuid4()), "ratings": ratings, "reason_text": "too long", "total_time": 5}),
        content_type="application/json")
    assert r.status_code == 200, r.content
    p = LabeledPass.objects.get()
    assert p.finish_reason == "give_up" and len(p.steps) == 2 and p.steps[1]["chosen_completion"] is None
    assert p.steps[0] == original["label"]["steps"][0]
