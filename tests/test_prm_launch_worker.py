"""Launched training (PRM_TRAIN_PROCESSES=2) in a round on a real Celery worker (PostgreSQL, Redis): the
worker's process running the round is killed mid-training; the round fails with the reason, no training
process outlives it, and a new worker resumes the round and trains again as several processes."""
import os
import signal
import time

import psutil
import pytest

from activelearn.models import ModelVersion
from activelearn.rounds import lifecycle as rounds

from .round_fixtures import round_config

# the real-worker fixtures of tests/test_rounds_worker.py (PostgreSQL, a Redis queue of the test's own)
from .test_rounds_worker import Worker, redis_broker, setup, status, wait_for, worker_env  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _training_processes() -> list:
    return [p for p in psutil.process_iter(["cmdline"]) if "activelearn.prm.train_job" in " ".join(
        p.info["cmdline"] or [])]


def test_a_killed_worker_leaves_no_training_process_and_the_round_resumes(setup, worker_env, tmp_path,  # noqa: F811
                                                                          micro_bert, settings):
    worker_env["PRM_TRAIN_PROCESSES"] = "2"
    settings.PRM_TRAIN_PROCESSES = 2
    worker = Worker(worker_env, tmp_path, "launch1")
    try:
        r = rounds.start_round(round_config(micro_bert, epochs=100))
        wait_for(lambda: (status(r).stages.get("train", {}).get("done") or 0) > 0, 180, worker, "training to start")
        launched = _training_processes()
        assert len(launched) == 3, "the launcher and two ranks"
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: status(r).status == "failed", 60, worker, "the round to be marked failed")
        assert "worker running the round was lost" in r.error
        _, alive = psutil.wait_procs(launched, timeout=30)
        assert not alive, f"training processes outlived the worker's child: {alive}"
        worker.stop()

        worker = Worker(worker_env, tmp_path, "launch2")
        r.config["epochs"] = 1
        r.save(update_fields=["config"])
        rounds.resume_round(r)
        wait_for(lambda: status(r).status not in ("queued", "running"), 300, worker, "the resumed round to end")
        assert r.status == "succeeded", r.error
        assert r.model_version.hyperparameters["processes"] == 2 and r.model_version.is_active
        assert not ModelVersion.objects.filter(status="training").exists()
        time.sleep(1)
        assert not _training_processes()
    finally:
        worker.stop()
