"""`make run`'s script on the embedded defaults: site up, demo logins work, worker answers."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc, timeout: float = 90) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"quickstart exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout}s")


@pytest.mark.slow
def test_quickstart_serves_site_with_demo_users_and_a_live_worker(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(STEPWISE_VAR_DIR=str(tmp_path / "var"), PORT=str(port), WEB_WORKERS="1", WORKER_CONCURRENCY="1")
    log = open(tmp_path / "quickstart.log", "w+")
    proc = subprocess.Popen([str(ROOT / "scripts" / "quickstart.sh")], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        health = _wait_http(f"http://127.0.0.1:{port}/healthz/", proc)
        assert b'"status": "ok"' in health or b'"status":"ok"' in health
        assert b"Log in" in _wait_http(f"http://127.0.0.1:{port}/accounts/login/", proc)
        log.seek(0)
        out = log.read()
        assert f"http://127.0.0.1:{port}/" in out
        for role in ("annotator", "admin", "ml_staff"):
            assert re.search(rf"\b{role}\b", out), f"no demo login for {role} printed"
        # a task goes through the filesystem broker to the worker and back
        shell = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from labeling.celery_tasks import ping; print(ping.delay().get(timeout=60))"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert shell.stdout.strip().endswith("pong"), shell.stdout + shell.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
