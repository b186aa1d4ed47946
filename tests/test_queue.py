"""The labelling queue: claims, overlap, screening gate, QC interleave, drafts, submits, expiry."""
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from labeling.models import DEFAULT_PROJECT_ID, LabeledPass, Lease, Problem, ProjectMember, QueueEntry, Solution
from labeling.people.accounts import set_user
from labeling.queue import claims as queue
from labeling.queue.submission import SubmissionError, save_draft, submit_pass
from labeling.storage.hashing import problem_hash, solution_hash
from tests.api_helpers import default_project

pytestmark = pytest.mark.django_db


def _solutions(n, **flags):
    p = Problem.objects.create(text=f"P {uuid.uuid4()}", content_hash=problem_hash(str(uuid.uuid4())),
                               ground_truth_answer="1")
    out = []
    for i in range(n):
        steps = [f"step a {i}", f"step b {i}", "# Answer\n\n1"]
        out.append(Solution.objects.create(problem=p, steps=steps, final_answer="1",
                                           content_hash=solution_hash(p.content_hash, steps, str(uuid.uuid4())),
                                           **flags))
    return out


def _annotator(name, screened=True):
    a = set_user(name, "pw-for-tests-only", "annotator")
    if screened:
        a.screening_passed_at = timezone.now()
        a.save()
    return a


def _submit(a, lease, ratings=(1, 1, 1), finish="solution", client=None):
    return submit_pass(a, lease.id, client or uuid.uuid4(), [{"rating": r} for r in ratings], finish, 1234)


def test_priority_order_own_lease_and_reason():
    low, high = _solutions(2)
    queue.enqueue([low], priority=1.0)
    queue.enqueue([high], priority=5.0)
    a = _annotator("a")
    lease = queue.next_task(a)
    assert lease.solution == high and lease.reason == "priority"
    assert queue.next_task(a) == lease  # asking again (a second tab) returns the same lease
    _submit(a, lease)
    assert queue.next_task(a).solution == low


def test_overlap_and_never_twice_to_the_same_annotator():
    (s,) = _solutions(1)
    queue.enqueue([s], overlap=2)
    a, b, c = _annotator("a"), _annotator("b"), _annotator("c")
    la = queue.next_task(a)
    lb = queue.next_task(b)
    assert la.solution == lb.solution == s and lb.reason == "overlap"
    assert isinstance(queue.next_task(c), queue.NoTask)  # both slots in flight
    _submit(a, la)
    assert queue.next_task(a).reason == "waiting"  # a already had it; b still holds the other slot
    _submit(b, lb)
    entry = QueueEntry.objects.get(solution=s)
    assert (entry.completed, entry.in_flight, entry.is_open) == (2, 0, False)
    assert queue.next_task(c).reason == "all_done"


def test_submit_is_idempotent_and_lands_whole():
    (s,) = _solutions(1)
    queue.enqueue([s])
    a = _annotator("a")
    lease = queue.next_task(a)
    client = uuid.uuid4()
    first = _submit(a, lease, (1, -1), "found_error", client)
    again = _submit(a, lease, (1, -1), "found_error", client)
    other_client = _submit(a, lease, (1, -1), "found_error")
    assert first == again == other_client and LabeledPass.objects.count() == 1
    assert first.steps[1]["chosen_completion"] is None and first.finish_reason == "found_error"
    assert QueueEntry.objects.get(solution=s).completed == 1


@pytest.mark.parametrize(("ratings", "finish", "reason", "field"), [
    ((1, 1), "solution", "", "ratings"),
    ((1, -1, 1), "found_error", "", "ratings"),
    ((1,), "give_up", "  ", "reason_text"),
    ((1, 2), "solution", "", "ratings[1].rating"),
    ((1,), "finished", "", "finish_reason"),
])
def test_bad_submits_change_nothing(ratings, finish, reason, field):
    (s,) = _solutions(1)
    queue.enqueue([s])
    a = _annotator("a")
    lease = queue.next_task(a)
    with pytest.raises(SubmissionError) as exc:
        submit_pass(a, lease.id, uuid.uuid4(), [{"rating": r} for r in ratings], finish, 10, reason)
    assert exc.value.field == field
    assert LabeledPass.objects.count() == 0 and Lease.objects.get().status == "open"


def test_other_annotators_leases_are_invisible():
    (s,) = _solutions(1)
    queue.enqueue([s])
    a, b = _annotator("a"), _annotator("b")
    lease = queue.next_task(a)
    with pytest.raises(SubmissionError, match="no such task"):
        save_draft(b, lease.id, [{"rating": 1}], 10)
    with pytest.raises(SubmissionError, match="no such task"):
        _submit(b, lease)


def test_draft_resumes_and_keeps_the_longest_active_time():
    (s,) = _solutions(1)
    queue.enqueue([s])
    a = _annotator("a")
    lease = queue.next_task(a)
    save_draft(a, lease.id, [{"rating": 1}, {"rating": 0, "flagged": True}], 5000)
    save_draft(a, lease.id, [{"rating": 1}, {"rating": 0, "flagged": True}], 4000)
    again = queue.next_task(a)
    assert again.draft == {"ratings": [{"rating": 1, "flagged": False}, {"rating": 0, "flagged": True}],
                           "active_ms": 5000}


def test_expired_leases_are_reaped_and_return_to_the_queue():
    (s,) = _solutions(1)
    queue.enqueue([s])
    a, b = _annotator("a"), _annotator("b")
    lease = queue.next_task(a)
    assert isinstance(queue.next_task(b), queue.NoTask)
    assert queue.reap_expired(timezone.now() + timedelta(hours=2)) == 1
    assert Lease.objects.get(id=lease.id).status == "expired"
    assert queue.next_task(b).solution == s
    # a late submit of the expired lease still lands: no label is ever lost
    late = _submit(a, Lease.objects.get(id=lease.id))
    assert late.pk and QueueEntry.objects.get(solution=s).completed == 1


def test_screening_gate_then_qc_interleave(settings):
    default_project(qc_every=2)
    default_project(screening_threshold=0.5)
    screening = _solutions(2, is_screening=True, gold_first_error=-1)
    qc = _solutions(1, is_quality_control=True, gold_first_error=1)
    regular = _solutions(3)
    queue.enqueue(regular)
    a = _annotator("new", screened=False)
    for expected in screening:
        lease = queue.next_task(a)
        assert lease.reason == "screening" and lease.solution == expected
        _submit(a, lease)  # all steps +1 = gold
    served = [queue.next_task(a)]
    _submit(a, served[-1])
    served.append(queue.next_task(a))
    _submit(a, served[-1])
    served.append(queue.next_task(a))
    assert [x.reason for x in served] == ["priority", "priority", "qc"] and served[-1].solution == qc[0]
    a.refresh_from_db()
    member = ProjectMember.objects.get(user=a.user, project_id=DEFAULT_PROJECT_ID)
    assert member.screening_passed_at and member.screening_agreement == a.screening_agreement == 1.0
    assert a.screening_passed_at is None  # passed in this project; an admin's approval would open every one


def test_failed_screening_blocks_regular_tasks(settings):
    default_project(screening_threshold=0.9)
    (s,) = _solutions(1, is_screening=True, gold_first_error=-1)
    queue.enqueue(_solutions(1))
    a = _annotator("new", screened=False)
    _submit(a, queue.next_task(a), (1, -1), "found_error")  # disagrees with gold
    blocked = queue.next_task(a)
    assert isinstance(blocked, queue.NoTask) and blocked.reason == "screening_review"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_exceed_overlap():
    sols = _solutions(10)
    queue.enqueue(sols, overlap=2)
    annotators = [_annotator(f"t{i}") for i in range(12)]
    got, errors = {}, []
    barrier = threading.Barrier(len(annotators))

    def work(a):
        try:
            barrier.wait()
            leases = []
            for _ in range(3):
                lease = queue.next_task(a)
                if isinstance(lease, queue.NoTask):
                    break
                leases.append(lease.solution_id)
                _submit(a, lease)
            got[a.pk] = leases
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(a,)) for a in annotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    claims = [sid for leases in got.values() for sid in leases]
    assert len(claims) == 20  # every slot taken exactly once
    assert all(claims.count(s.pk) == 2 for s in sols)
    assert all(len(set(leases)) == len(leases) for leases in got.values())
    assert LabeledPass.objects.count() == 20
    assert set(QueueEntry.objects.values_list("completed", "in_flight", "is_open")) == {(2, 0, False)}


def test_reaper_runs_on_a_beat_schedule(settings):
    from labeling.celery_tasks import reap_expired_leases

    entry = settings.CELERY_BEAT_SCHEDULE["reap-expired-leases"]
    assert entry["task"] == "labeling.tasks.reap_expired_leases" and entry["schedule"] <= 60
    assert reap_expired_leases() == 0


def test_alternatives_are_stored_as_completions_and_checked():
    (s,) = _solutions(1)
    s.extra = {"alternatives": {"1": ["alt one"]}}
    s.save()
    queue.enqueue([s])
    a = _annotator("a")
    lease = queue.next_task(a)
    too_many = [{"rating": 1}, {"rating": -1, "alternatives": [{"rating": 1}, {"rating": 0}]}]
    with pytest.raises(SubmissionError, match="1 alternatives"):
        submit_pass(a, lease.id, uuid.uuid4(), too_many, "found_error", 5)
    ok = [{"rating": 1}, {"rating": -1, "alternatives": [{"rating": None}]}]
    p = submit_pass(a, lease.id, uuid.uuid4(), ok, "found_error", 5)
    assert p.steps[1]["completions"][1] == {"text": "alt one", "rating": None, "flagged": False}
