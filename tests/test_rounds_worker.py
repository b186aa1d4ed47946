"""Rounds with real Celery worker processes on Redis and PostgreSQL: a whole round with the
scoring chord spread over worker processes; cancel mid-training; a worker child killed
mid-training (round failed with the reason, previous model still active, resumable); the
whole worker killed (the watchdog fails the round, a new worker resumes it)."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django_celery_results.models import TaskResult

from activelearn.models import ModelVersion, Round, WorkerHeartbeat
from activelearn.prm import registry
from activelearn.prm.training import TrainConfig
from activelearn.rounds import lifecycle as rounds
from config.celery import app as celery_app

from .round_fixtures import allow_micro, labelled_and_pool, round_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[1]
REDIS = os.environ.get("ROUNDS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
QUEUE = f"stepwise-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_broker():
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis at {REDIS}: {exc}")
        pytest.skip(f"no Redis at {REDIS}")
    old, old_queue = celery_app.conf.broker_url, celery_app.conf.task_default_queue
    # a queue of our own: another test run on the same Redis must not take our tasks
    celery_app.conf.task_default_queue = QUEUE
    _use_broker(REDIS)
    yield REDIS
    _use_broker(old)
    celery_app.conf.task_default_queue = old_queue


def _use_broker(url):
    # this process publishes the round's first task: point its (lazily made) pools at `url`
    from kombu import pools

    pools.reset()  # kombu keeps producer pools per broker URL, process-wide
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@pytest.fixture
def worker_env(redis_broker, tmp_path, model_dir, micro_bert, settings):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": redis_broker, "MODEL_DIR": str(model_dir),
           "STEPWISE_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1", "CELERY_QUEUE": QUEUE,
           "PRM_ALLOWED_BACKBONES": f"micro={micro_bert}"}  # the worker checks the name again
    allow_micro(settings, micro_bert)  # start_round here checks it first
    env.pop("REDIS_URL", None)
    return env


class Worker:
    def __init__(self, env, tmp_path, name, concurrency=1):
        self.log = open(tmp_path / f"{name}.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "prefork", "-c", str(concurrency),
             "-n", f"{name}@%h", "--without-mingle", "--without-gossip", "-l", "info"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.name = name
        wait_for(lambda: WorkerHeartbeat.objects.filter(pid=self.proc.pid).exists(), 90, self, "worker heartbeat")

    def children(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def kill_all(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_all()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-4000:]


def wait_for(check, timeout, worker=None, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    rows = list(Round.objects.values("generation", "status", "attempt", "stage", "stages", "error"))
    raise AssertionError(f"timed out waiting for {what}\nrounds: {rows}\n{worker.output() if worker else ''}")


def status(r) -> Round:
    r.refresh_from_db()
    return r


@pytest.fixture
def setup(shared_data, tmp_path, micro_bert, model_dir):
    labelled_and_pool(shared_data, tmp_path)
    previous = registry.train_version(base=str(micro_bert), cfg=TrainConfig(max_steps=2, max_length=128))
    return previous


def test_whole_round_on_a_real_worker(setup, worker_env, tmp_path, micro_bert):
    worker = Worker(worker_env, tmp_path, "w1", concurrency=2)
    try:
        r = rounds.start_round(round_config(micro_bert))
        wait_for(lambda: status(r).status not in ("queued", "running"), 240, worker, "the round to end")
        assert r.status == "succeeded", r.error + worker.output()
        assert r.generation == 1 and r.model_version != setup and r.model_version.is_active
        chunks = TaskResult.objects.filter(task_name="activelearn.tasks.score_chunk", status="SUCCESS")
        assert chunks.count() == 5  # 30 pool solutions in chunks of 7
        assert r.counts["selected"] > 0 and r.stages["queue"]["queued"] == r.counts["selected"]

        # the broker delivers the round's messages again (a crash before the ack): nothing changes
        from activelearn import celery_tasks
        from activelearn.models import RoundSelection, SolutionScore
        from labeling.models import QueueEntry

        before = (QueueEntry.objects.count(), RoundSelection.objects.count(), SolutionScore.objects.count())
        again = [celery_tasks.run_round.delay(r.pk, r.attempt), celery_tasks.finish_round.delay(r.pk, r.attempt)]
        wait_for(lambda: TaskResult.objects.filter(task_id__in=[a.id for a in again], status="SUCCESS").count() == 2,
                 60, worker, "the replayed messages")
        after = (QueueEntry.objects.count(), RoundSelection.objects.count(), SolutionScore.objects.count())
        assert after == before and status(r).status == "succeeded"
    finally:
        worker.stop()


def test_cancel_kill_and_resume(setup, worker_env, tmp_path, micro_bert):
    previous = setup
    worker = Worker(worker_env, tmp_path, "w2")
    try:
        def training(r):
            return lambda: (status(r).stages.get("train", {}).get("done") or 0) > 0

        # cancel mid-training: the worker stops at its next progress report
        r = rounds.start_round(round_config(micro_bert, epochs=100))
        wait_for(training(r), 120, worker, "training to start")
        rounds.cancel_round(r)
        version = ModelVersion.objects.get(pk=status(r).stages["train"]["model_version"])
        wait_for(lambda: ModelVersion.objects.get(pk=version.pk).status == "failed", 60, worker, "training to stop")
        assert status(r).status == "cancelled" and ModelVersion.objects.get(pk=previous.pk).is_active

        # the child process running the training is killed: the round fails with the reason
        rounds.resume_round(r)
        wait_for(training(r), 120, worker, "training to restart")
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: status(r).status == "failed", 60, worker, "the round to be marked failed")
        assert "worker running the round was lost" in r.error and "signal 9" in r.error, r.error
        assert ModelVersion.objects.get(pk=r.stages["train"]["model_version"]).status == "failed"
        assert ModelVersion.objects.get(pk=previous.pk).is_active

        # the whole worker dies: nothing reports it; the watchdog notices the silence
        rounds.resume_round(r)
        wait_for(training(r), 120, worker, "training to restart")
        worker.kill_all()
        from django.test import override_settings

        time.sleep(1.5)
        with override_settings(ROUND_STALL_SECONDS=1):
            rounds.watch()
        assert status(r).status == "failed" and "no sign of life" in r.error
        assert ModelVersion.objects.get(pk=previous.pk).is_active

        # a new worker picks the resumed round up and finishes it
        worker = Worker(worker_env, tmp_path, "w3")
        r.config["epochs"] = 1
        r.save(update_fields=["config"])
        rounds.resume_round(r)
        wait_for(lambda: status(r).status not in ("queued", "running"), 240, worker, "the resumed round to end")
        assert r.status == "succeeded" and r.attempt == 4, r.error
        assert not ModelVersion.objects.filter(status="training").exists()
    finally:
        worker.stop()


class PrivateRedis:
    """A redis-server of our own, so the test can take it away and bring it back."""

    def __init__(self, tmp_path):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = tmp_path
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir)], stdout=subprocess.DEVNULL)
        import redis

        wait_for(lambda: _pings(redis.Redis.from_url(self.url)), 20, None, "redis-server")

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def test_redis_outage_pauses_the_round_and_labelling_goes_on(shared_data, tmp_path, micro_bert, model_dir,
                                                            worker_env, settings):
    import shutil
    from datetime import timedelta

    from django.utils import timezone

    from labeling.models import LabeledPass, Solution
    from labeling.queue import claims as queue

    from .api_helpers import token_client

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    labelled_and_pool(shared_data, tmp_path)
    extra = Solution.objects.filter(passes__isnull=True).order_by("-id").first()
    queue.enqueue([extra])  # already queued before the round: annotators label it during the outage
    redis_server = PrivateRedis(tmp_path)
    _use_broker(redis_server.url)
    worker = Worker({**worker_env, "CELERY_BROKER_URL": redis_server.url}, tmp_path, "w4")
    try:
        r = rounds.start_round(round_config(micro_bert, epochs=30))
        wait_for(lambda: (status(r).stages.get("train", {}).get("done") or 0) > 0, 120, worker, "training")
        redis_server.stop()

        client, _ = token_client("ann", "annotator")  # the queue lives in the database
        task = client.post("/api/tasks/next/").json()["lease"]
        assert task is not None
        body = {"client_id": str(uuid.uuid4()), "ratings": [{"rating": 1}] * len(task["steps"]),
                "finish_reason": "solution", "total_time": 1000}
        r_submit = client.post(f"/api/tasks/{task['id']}/submit/", body, content_type="application/json")
        assert r_submit.status_code == 200, r_submit.content
        assert LabeledPass.objects.filter(solution=extra).count() == 1

        # training ends during the outage; the scoring cannot be sent, so the round waits
        wait_for(lambda: status(r).stages["train"].get("status") == "done", 240, worker, "training to end")
        time.sleep(3)
        assert status(r).status == "running" and r.stage == "score"

        redis_server.start()  # empty: whatever was queued in it is gone
        _use_broker(redis_server.url)
        later = timezone.now() + timedelta(seconds=settings.ROUND_RESEND_SECONDS + 1)
        assert rounds.watch(now=later)["rescored"] == 1
        wait_for(lambda: status(r).status not in ("queued", "running"), 240, worker, "the round to end")
        assert r.status == "succeeded", r.error
    finally:
        worker.stop()
        redis_server.stop()
