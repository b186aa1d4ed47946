"""Issue 25: the scheduler (Celery beat) in health, and no orphan beat.

/healthz/ said the worker was ok with beat dead; it now reports the scheduler: ok with exactly one beat alive.
A worker started with --beat and then SIGKILLed left its beat running (a restart with --beat then ran two): the
embedded beat now exits with its worker, and a second beat on the same schedule file refuses to start. Those two
run real Celery processes (the filesystem broker in a temporary folder; no network)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone

from activelearn.heartbeat import BEAT_PREFIX
from activelearn.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[1]


def _alive(hostname: str, seconds_ago: float = 0) -> None:
    seen = timezone.now() - timezone.timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.create(hostname=hostname, pid=1, started_at=seen, last_seen=seen)


@pytest.mark.django_db
def test_healthz_reports_a_dead_scheduler_beside_a_live_worker(client):
    _alive("celery@web-1")
    _alive(f"{BEAT_PREFIX}old:7", seconds_ago=3600)  # a beat that stopped an hour ago
    body = client.get("/healthz/").json()
    assert body["worker"]["ok"] is True
    assert body["scheduler"]["ok"] is False and body["scheduler"]["running"] == 0
    assert body["scheduler"]["last_seen"] is not None
    _alive(f"{BEAT_PREFIX}host:8")
    assert client.get("/healthz/").json()["scheduler"] == {**client.get("/healthz/").json()["scheduler"],
                                                           "ok": True, "running": 1}
    _alive(f"{BEAT_PREFIX}host:9")  # two beats: every periodic task goes out twice
    assert client.get("/healthz/").json()["scheduler"]["ok"] is False


@pytest.mark.django_db
def test_a_beat_alone_is_not_a_worker(client):
    _alive(f"{BEAT_PREFIX}host:8")
    assert client.get("/healthz/").json()["worker"]["ok"] is False


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL")}
    return {**env, "STEPWISE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SECRET_KEY": "tests-only", "DJANGO_SETTINGS_MODULE": "config.settings"}


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state not in ("Z", "X")


def _wait(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (value := predicate()):
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class _WorkerWithBeat:
    """`celery worker --beat` as scripts/quickstart.sh starts it (solo pool: its only child is the beat)."""

    def __init__(self, tmp_path: Path):
        self.schedule = tmp_path / "celerybeat-schedule"
        self.log = open(tmp_path / "worker.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "-P", "solo",
                                      "--schedule", str(self.schedule), "-n", "beat-test@%h"],
                                     cwd=ROOT, env=_env(tmp_path), stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.beat = None
        [self.beat] = _wait(lambda: _children(self.proc.pid), 90, f"the embedded beat ({tmp_path / 'worker.log'})")

    def stop(self):
        for pid in (self.proc.pid, self.beat):
            if pid is not None and _running(pid):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()


def test_a_killed_worker_leaves_no_beat_behind(tmp_path):
    worker = _WorkerWithBeat(tmp_path)
    try:
        time.sleep(5)  # the beat is up and scheduling
        assert _running(worker.beat)
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(10)
        _wait(lambda: not _running(worker.beat), 15, "the orphaned beat to exit")
    finally:
        worker.stop()


def test_a_second_beat_on_the_same_schedule_refuses_to_start(tmp_path):
    worker = _WorkerWithBeat(tmp_path)
    lock = Path(f"{worker.schedule}.lock")
    try:
        _wait(lambda: lock.exists() and lock.read_text() == str(worker.beat), 60, "the beat's lock")
        second = subprocess.run([sys.executable, "-m", "celery", "-A", "config", "beat", "--schedule",
                                 str(worker.schedule)], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 1, second.stdout + second.stderr
        assert "another beat holds" in second.stdout + second.stderr
        assert _running(worker.beat)
    finally:
        worker.stop()
