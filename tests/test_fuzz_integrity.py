"""Fuzzing what the earlier fuzzers missed: client ids reused across leases and contents,
exports of passes of every origin imported back in any order and multiplicity, drafts of any
length. Each property is checked against a small model of what must have been stored.
Example counts: @bounded; FUZZ_EXAMPLES runs more (tests/fuzz_strategies.py)."""
import io
import uuid

import orjson
import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from labeling.imports import files as importers
from labeling.models import LabeledPass, Lease
from labeling.queue import claims as queue

from .api_helpers import queued_solutions, token_client
from .fuzz_strategies import bounded

pytestmark = pytest.mark.django_db
CLIENT_IDS = [uuid.UUID(int=i + 1) for i in range(3)]
CONTENTS = [((1, 1, 1), "solution"), ((1, -1), "found_error"), ((0, 1, 1), "solution"), ((1, 1), "solution")]


@pytest.fixture
def annotator_world():
    queued_solutions(4)
    client, annotator = token_client("fz", "annotator")
    return client, annotator


submits = st.lists(st.tuples(st.sampled_from(["next", "submit", "submit", "submit"]), st.integers(0, 3),
                             st.integers(0, 2), st.integers(0, 3), st.sampled_from([10, 11])), max_size=14)


@bounded(60)
@given(ops=submits)
def test_client_ids_across_leases_never_answer_success_for_what_was_not_stored(annotator_world, ops):
    client, annotator = annotator_world
    with transaction.atomic():
        leases: list[str] = []
        by_client: dict = {}  # client id -> (lease, content) stored
        by_lease: dict = {}  # lease -> content stored
        for op, lease_i, cid_i, content_i, time in ops:
            if op == "next" or not leases:
                task = client.post("/api/tasks/next/").json()["lease"]
                if task and task["id"] not in leases:
                    leases.append(task["id"])
                continue
            lease = leases[lease_i % len(leases)]
            cid = CLIENT_IDS[cid_i]
            ratings, finish = CONTENTS[content_i]
            content = (ratings, finish, time)
            body = {"client_id": str(cid), "ratings": [{"rating": r} for r in ratings], "finish_reason": finish,
                    "total_time": time}
            r = client.post(f"/api/tasks/{lease}/submit/", body, content_type="application/json")
            if cid in by_client:
                expected = 200 if by_client[cid] == (lease, content) else 409
            elif lease in by_lease:
                expected = 200 if by_lease[lease] == content else 409
            elif len(ratings) != 3 and finish == "solution":
                expected = 400  # a solution pass rates every step
            else:
                expected = 200
                by_client[cid], by_lease[lease] = (lease, content), content
            assert r.status_code == expected, (op, lease, cid, content, r.content)
            if r.status_code == 200:
                stored = LabeledPass.objects.get(client_id=r.json()["receipt"])
                got = ([s["completions"][0]["rating"] for s in stored.steps], stored.finish_reason, stored.total_time)
                assert got == (list(ratings), finish, time)  # a success is always for what is stored
                assert str(stored.lease.id) == lease
        assert LabeledPass.objects.count() == len(by_lease)
        assert {str(lid) for lid in Lease.objects.filter(status="submitted").values_list("id", flat=True)} == \
            set(by_lease)
        transaction.set_rollback(True)


@pytest.fixture
def export_of_every_origin(shared_data, tmp_path):
    call_command("seed_demo", "--problems", "6", "--password", "pw-for-tests-only", stdout=io.StringIO())
    for i in range(3):
        _, annotator = token_client(f"lab{i}", "annotator")
        lease = queue.next_task(annotator)
        from labeling.queue.submission import submit

        k = min(i, len(lease.solution.steps) - 1)
        submit(annotator, lease.id, uuid.uuid4(), [{"rating": 1}] * k + [{"rating": -1}], "found_error", i)
    call_command("import_prm800k", str(shared_data / "prm800k" / "sample.jsonl"), "--no-progress",
                 stdout=io.StringIO())
    pb = tmp_path / "pb.json"
    pb.write_bytes(orjson.dumps(orjson.loads((shared_data / "processbench" / "math.json").read_bytes())[:3]))
    call_command("import_solutions", str(pb), "--no-progress", stdout=io.StringIO())
    out = tmp_path / "all.jsonl"
    call_command("export_prm800k", str(out), "--include-qc", "--no-progress", stdout=io.StringIO())
    return out.read_bytes().splitlines(keepends=True)


@bounded(25)
@given(data=st.data())
def test_exports_imported_back_in_any_order_and_multiplicity_create_each_pass_once(export_of_every_origin, tmp_path,
                                                                                   data, monkeypatch):
    lines = export_of_every_origin
    monkeypatch.setattr(importers, "BATCH_SIZE", data.draw(st.sampled_from([1, 3, 1000])))
    files = data.draw(st.lists(st.lists(st.sampled_from(lines), max_size=12), min_size=1, max_size=3))
    with transaction.atomic():
        LabeledPass.objects.all().delete()
        seen = set()
        for k, picked in enumerate(files):
            path = tmp_path / f"part{k}.jsonl"
            path.write_bytes(b"".join(picked))
            stats = importers.import_prm800k(path)
            assert stats.records == sum(d["passes"] for d in (stats.created, stats.existing, stats.repeated))
            assert stats.created["passes"] == len(set(picked) - seen)
            seen |= set(picked)
            assert LabeledPass.objects.count() == len(seen)
        whole = tmp_path / "whole.jsonl"
        whole.write_bytes(b"".join(lines))
        importers.import_prm800k(whole)
        again = tmp_path / "again.jsonl"
        call_command("export_prm800k", str(again), "--include-qc", "--no-progress", stdout=io.StringIO())
        assert sorted(again.read_bytes().splitlines(keepends=True)) == sorted(lines)
        transaction.set_rollback(True)


rating_lists = st.lists(st.fixed_dictionaries(
    {"rating": st.sampled_from([-1, 0, 1])},
    optional={"flagged": st.booleans(),
              "alternatives": st.lists(st.fixed_dictionaries({"rating": st.sampled_from([None, -1, 0, 1])}),
                                       max_size=3)}), max_size=8)


def _valid_draft(ratings) -> bool:
    if len(ratings) > 3:
        return False
    negatives = [i for i, r in enumerate(ratings) if r["rating"] == -1]
    if negatives and negatives[0] != len(ratings) - 1:
        return False
    for k, r in enumerate(ratings):
        alts = r.get("alternatives")
        if alts and not (r["rating"] == -1 and k == 1 and len(alts) <= 1):
            return False
    return True


@bounded(80)
@given(ratings=rating_lists)
def test_drafts_longer_or_other_than_the_solution_are_refused(annotator_world, ratings):
    client, _ = annotator_world
    with transaction.atomic():
        task = client.post("/api/tasks/next/").json()["lease"]
        lease = Lease.objects.select_related("solution").get(id=task["id"])
        lease.solution.extra = {"alternatives": {"1": ["another second step"]}}
        lease.solution.save(update_fields=["extra"])
        before = Lease.objects.get(id=lease.id).draft
        r = client.post(f"/api/tasks/{lease.id}/draft/", {"ratings": ratings, "active_ms": 5},
                        content_type="application/json")
        if _valid_draft(ratings):
            assert r.status_code == 200, (ratings, r.content)
            served = client.post("/api/tasks/next/").json()["lease"]["draft"]["ratings"]
            assert [s["rating"] for s in served] == [x["rating"] for x in ratings]
        else:
            assert r.status_code == 400 and r.json()["field"].startswith("ratings"), (ratings, r.content)
            assert Lease.objects.get(id=lease.id).draft == before
        transaction.set_rollback(True)
