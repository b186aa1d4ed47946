"""The code sandbox of the unit-test outcome checker (activelearn.grading.sandbox): no network (a real
listener on loopback gets no connection), no forks beyond the limit, CPU, memory and output limits, and a
time-out that leaves no process behind (a fork that started its own session included)."""
import os
import socket
import uuid
from pathlib import Path

import pytest

from activelearn.grading import sandbox
from activelearn.grading.sandbox import Limits, run_python

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="needs util-linux unshare and namespaces (Linux)")


def test_network_is_refused_and_nothing_reaches_a_loopback_listener():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        server.settimeout(0.5)
        r = run_python(f"""
import socket
for target in (("127.0.0.1", {port}), ("localhost", {port})):
    try:
        socket.create_connection(target, timeout=2)
        print("connected", target)
    except OSError as exc:
        print("refused", type(exc).__name__, exc.errno)
try:
    socket.socket().bind(("0.0.0.0", 0)); s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    print("bound")
except OSError as exc:
    print("bind", exc.errno)
""")
        with pytest.raises(TimeoutError):
            server.accept()  # nothing came
    assert r.ok, r.stderr
    assert "connected" not in r.stdout and r.stdout.count("refused") == 2
    assert "errno 101" in r.stdout.lower() or " 101" in r.stdout  # ENETUNREACH: loopback is down in there


def test_forks_beyond_the_limit_are_refused():
    r = run_python("""
import os, time
ok = 0
kids = []
try:
    for _ in range(50):
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        kids.append(pid)
        ok += 1
except BlockingIOError as exc:
    print("refused after", ok, exc.errno)
for k in kids:
    os.kill(k, 9)
""", Limits(processes=6))
    assert r.ok, r.stderr
    words = r.stdout.split()
    assert words[:2] == ["refused", "after"] and int(words[2]) < 6 and words[3] == "11"  # EAGAIN


def _leftovers(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except OSError:
            continue
    return found


def test_a_time_out_is_clean_even_for_a_fork_in_its_own_session():
    marker = f"{60 + uuid.uuid4().int % 1000 / 1000:.3f}"  # a sleep length no other process has
    r = run_python(f"""
import os, sys, time
if os.fork() == 0:
    os.setsid()  # out of the process group: the PID namespace still takes it
    os.execv("/bin/sleep", ["sleep", "{marker}"])
time.sleep(0.5)
print("started", flush=True)
while True:
    time.sleep(1)
""", Limits(wall_seconds=2))
    assert r.timed_out and r.returncode is None and not r.ok and r.seconds < 6
    assert r.stdout == "started\n"
    assert _leftovers(marker) == []


def test_cpu_memory_and_output_limits():
    spin = run_python("while True: pass", Limits(cpu_seconds=1, wall_seconds=10))
    assert not spin.timed_out and spin.returncode != 0 and spin.seconds < 8  # SIGXCPU, before the wall clock
    big = run_python("x = bytearray(1024 ** 3)\nprint('allocated')", Limits(memory_mb=256))
    assert big.returncode != 0 and "MemoryError" in big.stderr and "allocated" not in big.stdout
    loud = run_python("while True: print('x' * 1000)", Limits(file_mb=1, wall_seconds=10))
    assert loud.returncode != 0 and not loud.timed_out and len(loud.stdout) <= sandbox.OUTPUT_CHARS


def test_the_program_runs_as_an_unprivileged_user_in_its_own_directory():
    r = run_python("import os; print(os.getuid(), os.getcwd()); open('/etc/stepwise-probe', 'w')")
    uid, cwd = r.stdout.split()[:2]
    if os.geteuid() == 0:
        assert uid == str(sandbox.NOBODY)
    assert "stepwise-sandbox-" in cwd and "PermissionError" in r.stderr and r.returncode != 0
    assert not Path("/etc/stepwise-probe").exists()
