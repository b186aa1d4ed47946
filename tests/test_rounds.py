"""A whole active-learning round in process (Celery eager): train, score as a chord of
chunks, grade, select, queue, record; one round at a time; cancel; failure and resume;
every stage idempotent. tests/test_rounds_worker.py does the same with a real worker."""
import pytest

from activelearn import celery_tasks as tasks
from activelearn.models import ModelVersion, Round, RoundSelection, SolutionScore
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds import stages as round_stages
from activelearn.rounds.config import RoundConfigError
from activelearn.rounds.errors import RoundBusy
from labeling.models import QueueEntry, Solution

from .round_fixtures import allow_micro, labelled_and_pool, round_config

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _micro_allowed(settings, micro_bert):
    allow_micro(settings, micro_bert, "broken=/nonexistent/backbone")


@pytest.fixture
def data(shared_data, tmp_path):
    return labelled_and_pool(shared_data, tmp_path)


def test_a_whole_round(eager, data, micro_bert, model_dir):
    r = rounds.start_round(round_config(micro_bert))
    r.refresh_from_db()
    assert r.status == "succeeded", r.error
    assert r.generation == 1 and r.slot is None and r.attempt == 1
    version = r.model_version
    assert version.is_active and version.status == "ready" and "validation" in r.metrics
    pool_ids = set(Solution.objects.filter(generator__isnull=False, passes__isnull=True).values_list("id", flat=True))
    assert len(pool_ids) == 30
    assert set(SolutionScore.objects.filter(model_version=version).values_list("solution_id", flat=True)) >= pool_ids
    assert {s: r.stages[s]["status"] for s in ("train", "score", "grade", "select", "queue")} == dict.fromkeys(
        ("train", "score", "grade", "select", "queue"), "done")
    assert all(r.stages[s]["seconds"] >= 0 for s in r.stages)
    assert r.stages["score"]["total"] == 30 and r.stages["score"]["done"] == 30
    picks = list(RoundSelection.objects.filter(round=r).select_related("solution"))
    assert 0 < len(picks) <= 10 and r.counts["selected"] == len(picks)
    wrong = [p for p in picks if p.bucket == "convincing_wrong"]
    assert wrong and all(p.answer_is_correct is False for p in wrong)
    entries = {e.solution_id: e for e in QueueEntry.objects.filter(solution__in=[p.solution for p in picks])}
    assert len(entries) == len(picks)
    for p in picks:
        assert p.solution.generation == 1 and p.solution.verifier_score == pytest.approx(p.score)
        assert entries[p.solution_id].priority == pytest.approx(p.score) and entries[p.solution_id].generation == 1

    # idempotent: the same stages again change nothing; a stale task message does nothing
    before = (QueueEntry.objects.count(), RoundSelection.objects.count(), SolutionScore.objects.count())
    r.status = "running"
    round_stages.select(r)
    round_stages.enqueue(r)
    tasks.finish_round(r.pk, r.attempt)
    tasks.run_round(r.pk, r.attempt)
    assert (QueueEntry.objects.count(), RoundSelection.objects.count(), SolutionScore.objects.count()) == before
    assert Round.objects.get(pk=r.pk).status == "succeeded"

    # the next round scores the remaining pool and compares itself with this one
    r2 = rounds.start_round(round_config(micro_bert, retrain="none"))
    r2.refresh_from_db()
    assert r2.status == "succeeded" and r2.generation == 2 and r2.model_version == version
    assert r2.comparison["previous_generation"] == 1
    assert not set(RoundSelection.objects.filter(round=r2).values_list("solution_id", flat=True)) & {
        p.solution_id for p in picks}


def test_one_round_at_a_time_and_cancel(data, micro_bert, monkeypatch):
    sent = []
    monkeypatch.setattr(rounds, "dispatch", sent.append)
    r = rounds.start_round(round_config(micro_bert))
    assert sent == [r.pk]
    with pytest.raises(RoundBusy, match="round 1 is queued"):
        rounds.start_round(round_config(micro_bert))
    rounds.cancel_round(r)
    r.refresh_from_db()
    assert r.status == "cancelled" and r.slot is None
    tasks.run_round(r.pk, r.attempt)  # the message arrives after the cancel: nothing happens
    assert Round.objects.get(pk=r.pk).status == "cancelled" and not ModelVersion.objects.exists()
    assert rounds.start_round(round_config(micro_bert)).generation == 2


def test_bad_config_is_refused_by_name(data, micro_bert):
    with pytest.raises(RoundConfigError) as exc:
        rounds.start_round({"wrong_fraction": 2})
    assert exc.value.field == "wrong_fraction"
    with pytest.raises(RoundConfigError) as exc:
        rounds.start_round({"bogus": 1})
    assert exc.value.field == "bogus"
    with pytest.raises(RoundConfigError) as exc:
        rounds.start_round({"retrain": "none"})  # no active model yet
    assert exc.value.field == "retrain"
    assert not Round.objects.exists()


def test_failed_training_keeps_the_previous_model_and_resumes(eager, data, micro_bert, model_dir):
    r1 = rounds.start_round(round_config(micro_bert))
    r1.refresh_from_db()
    old = r1.model_version
    r = rounds.start_round(round_config(micro_bert, base_model="broken"))  # allowed, but not there
    r.refresh_from_db()
    assert r.status == "failed" and "stage 'train'" in r.error and r.slot is None
    assert r.stages["train"]["status"] == "failed"
    old.refresh_from_db()
    assert old.is_active and ModelVersion.objects.filter(status="failed").count() == 1
    r.config["base_model"] = "micro"  # fix the cause, then resume from the failed stage
    r.save(update_fields=["config"])
    rounds.resume_round(r)
    r.refresh_from_db()
    assert r.status == "succeeded" and r.attempt == 2 and r.model_version != old


def test_worker_silence_fails_the_round_and_lost_chord_is_finished(data, micro_bert, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    monkeypatch.setattr(rounds, "dispatch", lambda pk: True)
    r = rounds.start_round(round_config(micro_bert))
    Round.objects.filter(pk=r.pk).update(status="running", stage="train",
                                         heartbeat_at=timezone.now() - timedelta(hours=2))
    out = rounds.watch()
    r.refresh_from_db()
    assert out["failed"] == 1 and r.status == "failed" and "no sign of life" in r.error


def test_undispatched_round_is_sent_when_the_broker_is_back(data, micro_bert, monkeypatch):
    from activelearn.celery_tasks import run_round

    def broker_down(*a, **k):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(run_round, "apply_async", broker_down)
    r = rounds.start_round(round_config(micro_bert))
    r.refresh_from_db()
    assert r.status == "queued" and r.dispatched_at is None
    sent = []
    monkeypatch.setattr(run_round, "apply_async", lambda args, **k: sent.append(args))
    assert rounds.watch()["dispatched"] == 1 and sent == [(r.pk, 1)]
    assert Round.objects.get(pk=r.pk).dispatched_at is not None


def test_a_round_on_the_demo_data(eager, micro_bert, model_dir):
    """What a new user does after `make run`: seed_demo, then start a round from the page."""
    from labeling.demo.seed import seed_problems

    seed_problems()
    r = rounds.start_round({"base_model": "micro", "epochs": 1, "max_length": 256})
    r.refresh_from_db()
    assert r.status == "succeeded", r.error
    assert r.model_version.data_snapshot["passes"] > 0 and r.generation == 1
    picks = RoundSelection.objects.filter(round=r)
    assert picks.count() == r.counts["selected"] > 0 and r.counts["wrong_selected"] > 0
    assert QueueEntry.objects.filter(generation=1).count() == picks.count()
