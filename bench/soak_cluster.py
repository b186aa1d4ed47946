"""The production shape on 127.0.0.1 for bench/soak.py: a private redis-server, gunicorn,
Celery workers and beat, each a process group of its own so that a fault can hit exactly one."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def wait_until(check, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


class Service:
    """One long-running process (group) with its output in a log file under the scratch folder."""

    def __init__(self, name: str, argv: list[str], scratch: Path, env: dict):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = scratch / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Service:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group (a Celery worker's pool children die with their parent)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        self.kill(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class Redis(Service):
    """redis-server with an append-only file, as docker-compose runs it: a restart keeps the queue."""

    def __init__(self, port: int, scratch: Path, env: dict):
        data = scratch / "redis"
        data.mkdir(exist_ok=True)
        super().__init__("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "yes", "--dir", str(data)], scratch, env)
        self.url = f"redis://127.0.0.1:{port}/0"

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except (redis.ConnectionError, redis.TimeoutError):
            return False

    def start(self) -> Redis:
        super().start()
        wait_until(self.ping, 20, "redis-server")
        return self


def celery_worker(name: str, scratch: Path, env: dict, concurrency: int = 1) -> Service:
    return Service(name, [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "prefork",
                          "-c", str(concurrency), "-n", f"{name}@%h", "--without-mingle", "--without-gossip",
                          "-l", "info"], scratch, env)


def celery_beat(scratch: Path, env: dict) -> Service:
    return Service("beat", [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info",
                            "--schedule", str(scratch / "celerybeat-schedule")], scratch, env)


def gunicorn(port: int, workers: int, threads: int, scratch: Path, env: dict) -> Service:
    return Service("gunicorn", [sys.executable, "-m", "gunicorn", "config.wsgi:application",
                                "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
                                "--workers", str(workers), "--threads", str(threads), "--keep-alive", "60",
                                "--timeout", "60", "--backlog", "2048", "--no-control-socket",
                                "--error-logfile", "-", "--log-level", "warning"], scratch, env)


def http_status(port: int, path: str, timeout: float = 5.0) -> int | None:
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None
