"""Running untrusted code (a model's program and its unit tests) in a subprocess with limits and no network.

The program runs under util-linux's `unshare --net --pid --fork --kill-child`:
- a new network namespace, whose only interface (loopback) is down: every connect or bind fails;
- a new PID namespace whose first process is the program: when it ends or is killed, the kernel kills every
  process it left, forks that started sessions of their own included (--kill-child ties it to `unshare`);
- run as root, the program drops to an unprivileged user (`setpriv`, user `nobody`), so that RLIMIT_NPROC
  counts (root is exempt); run as another user, an unprivileged user namespace (`--user`) is needed. Where
  none of this is possible the sandbox refuses to run (SandboxUnavailable) rather than run with the network.
Limits are resource.setrlimit, set between fork and exec: CPU seconds, address space, processes of the user
(forks beyond it fail; per user, so it counts every sandbox running as that user at once), file size, open
files, no core dumps. The whole process group is killed at the wall-clock limit.

The interpreter is the system's (`/usr/bin/python3`, settings.SANDBOX_PYTHON): the program needs none of
Stepwise's packages, and `nobody` cannot read a virtual environment kept under /root. stdout and stderr go to
files (bounded by RLIMIT_FSIZE) and the first OUTPUT_CHARS of each come back. Linux only; no seccomp: the
namespaces and limits are what tests/test_sandbox.py shows.
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
OUTPUT_CHARS = 16_000


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot isolate the network here: nothing was run."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0
    cpu_seconds: int = 5
    memory_mb: int = 512
    processes: int = 16
    file_mb: int = 8
    open_files: int = 64


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None  # None: killed at the wall-clock limit
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def interpreter() -> str:
    from django.conf import settings

    configured = settings.SANDBOX_PYTHON
    return configured or ("/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)


def _prefix() -> list[str]:
    isolate = ["unshare", "--net", "--pid", "--fork", "--kill-child"]
    if os.geteuid() == 0:
        return [*isolate, "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    return [isolate[0], "--user", "--map-current-user", *isolate[1:], "--"]


def _limit(limits: Limits) -> None:  # pragma: no cover - runs in the forked child
    os.setsid()
    mb = 1024 * 1024
    for what, value in ((resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_AS, limits.memory_mb * mb),
                        (resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_FSIZE, limits.file_mb * mb),
                        (resource.RLIMIT_NOFILE, limits.open_files), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(what, (value, value))


def available() -> bool:
    """Whether this machine can run the sandbox: Linux, util-linux's unshare (and setpriv as root), and the
    namespaces it asks for."""
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return False
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        return False
    try:
        r = subprocess.run([*_prefix(), interpreter(), "-I", "-c", "pass"], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def _tail(path: Path) -> str:
    with open(path, "rb") as f:
        return f.read(OUTPUT_CHARS * 4).decode("utf-8", "replace")[:OUTPUT_CHARS]


def run_python(source: str, limits: Limits = Limits()) -> SandboxResult:
    """Run `source` as a Python program (isolated mode: no user site, no PYTHON* variables) in a fresh
    temporary directory, within `limits`, without network."""
    if not available():
        raise SandboxUnavailable("this machine cannot isolate the network (needs util-linux unshare, and root or "
                                 "unprivileged user namespaces): code is not run")
    work = Path(tempfile.mkdtemp(prefix="stepwise-sandbox-"))
    try:
        program = work / "main.py"
        program.write_text(source)
        out, err = work / "stdout", work / "stderr"
        if os.geteuid() == 0:  # the program runs as nobody: its own directory, nothing else of ours writable
            os.chmod(work, 0o755)
            for p in (work, program):
                os.chown(p, NOBODY, NOBODY)
        started = time.monotonic()
        with open(out, "wb") as fo, open(err, "wb") as fe:
            proc = subprocess.Popen(
                [*_prefix(), interpreter(), "-I", str(program)], cwd=work, stdin=subprocess.DEVNULL, stdout=fo,
                stderr=fe, env={"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8"}, close_fds=True,
                preexec_fn=lambda: _limit(limits))
            timed_out = False
            try:
                proc.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                _end(proc)
            _kill_group(proc.pid)  # a process group left by a program that ended: nothing, normally
        return SandboxResult(None if timed_out else proc.returncode, _tail(out), _tail(err), timed_out,
                             time.monotonic() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _end(proc: subprocess.Popen) -> None:
    """Kill the program (the first process of its PID namespace: the kernel then kills every other process in
    there) and wait for `unshare` to reap it, which is when the namespace is empty."""
    for pid in _children(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.wait()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
