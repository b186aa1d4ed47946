"""bench/soak.py at small scale, as a test: the production shape on this machine (gunicorn,
two Celery workers, beat, a private redis-server, PostgreSQL), annotators labelling while a round
runs, and every fault injected: worker SIGKILL, Redis restart, gunicorn worker SIGKILL, a table
lock. No acknowledged label may be lost or doubled, no 5xx, and the round must end succeeded or
failed with a reason. (The figures come from the full run; this only keeps the soak honest.)"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def test_small_soak_loses_nothing():
    if not shutil.which("redis-server"):
        if os.environ.get("CI"):
            pytest.fail("CI needs redis-server for the soak")
        pytest.skip("redis-server is not installed")
    db = connection.settings_dict
    admin_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    args = ["--annotators", "6", "--late", "1", "--think-ms", "400", "--queued", "500", "--train", "40",
            "--pool", "30", "--epochs", "1", "--round-cap", "10", "--baseline", "4", "--gap", "4", "--after", "3",
            "--window", "4", "--redis-down", "2", "--lock-seconds", "3", "--lease-seconds", "5",
            "--stall-seconds", "5", "--round-timeout", "240", "--json"]
    env = {**os.environ, "DATABASE_URL": admin_url}
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_QUEUE", "CELERY_TRAIN_QUEUE"):
        env.pop(name, None)  # the soak runs its own broker and queue
    done = subprocess.run([sys.executable, "bench/soak.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.stdout.strip(), done.stderr[-4000:]
    out = json.loads(done.stdout)
    summary = {k: out[k] for k in ("verdict", "db", "round", "failures", "client_errors")}
    assert done.returncode == 0 and out["verdict"]["ok"], json.dumps(summary, indent=1, default=str)[:6000]
    assert [f["name"] for f in out["faults"]] == ["worker_kill", "redis_restart", "gunicorn_worker_kill", "db_lock"]
    assert out["db"]["acked"] > 0 and out["db"]["lost"] == 0 and out["db"]["duplicate_passes"] == 0
    assert out["round"]["status"] in ("succeeded", "failed")
