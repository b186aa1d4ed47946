"""Run a function in a long-lived worker process with a hard wall-clock timeout.

Used for answer grading: math-verify's own timeouts rely on `signal.alarm` (main thread
only) and cannot stop a computation stuck in C code. A worker that overruns is killed and
replaced; the round trip costs well under a millisecond. Workers are plain `python -c`
children, not multiprocessing ones (see _WORKER_CODE).
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

DEFAULT_TIMEOUT = 5.0

# A fresh worker imports sympy and math-verify before it answers; that is not counted
# against a comparison's timeout, but a worker that cannot start at all is an error.
STARTUP_TIMEOUT = 120.0
# A worker whose parent died mid-comparison ends itself this long after the timeout.
ORPHAN_GRACE = 5.0


class GradingTimeout(Exception):
    """The worker did not answer within the timeout; it has been killed and will be replaced."""


class GradingWorkerError(RuntimeError):
    """A grading worker could not start, died, or the function it ran raised."""


class GradingUnavailable(GradingWorkerError):
    """No grading worker could be started: an environment problem, raised rather than graded as None."""


class _RemoteError(GradingWorkerError):
    """The function run in the worker raised (the worker itself is fine)."""


# --------------------------------------------------------------------------------------
# Worker processes


def _worker_main(conn: Connection) -> None:  # pragma: no cover - runs in the child process
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args, limit = job
        # Backstop for an orphan (parent killed mid-job): SIGALRM's default action ends the
        # process in the kernel, even while a C extension holds the GIL. Normally the parent
        # has killed this process long before.
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            reply = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            reply = ("error", f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            conn.send(reply)
        except Exception as exc:  # e.g. an unpicklable result
            conn.send(("error", f"cannot send result: {exc}"[:2000]))


def _serve(fd: int) -> None:  # pragma: no cover - the worker process's entry point
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    _worker_main(Connection(fd))  # returns when the parent goes (end of file on the socket)


# The worker is a plain `python -c` child, not a multiprocessing one: multiprocessing's spawn
# and forkserver re-import the parent's __main__ (fails for stdin scripts, notebooks, some
# servers) and fork is unsafe in a process with threads and open database connections.
_WORKER_CODE = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from activelearn.grading.worker_pool import _serve; _serve(int(sys.argv[2]))"
)
_live_workers: set[_Worker] = set()


class _Worker:
    def __init__(self):
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _WORKER_CODE, json.dumps(sys.path), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            )
        except OSError as exc:
            ours.close()
            raise GradingUnavailable(f"cannot start a grading worker: {exc}") from exc
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False
        self.owner = os.getpid()
        _live_workers.add(self)

    def call(self, fn: Callable, args: tuple, timeout: float):
        try:
            if not self.ready:
                if not self.conn.poll(STARTUP_TIMEOUT):
                    raise GradingUnavailable(f"grading worker did not start within {STARTUP_TIMEOUT:.0f}s")
                try:
                    self.conn.recv()
                except (EOFError, OSError) as exc:
                    raise GradingUnavailable(f"grading worker exited on start (exit code {self.exitcode})") from exc
                self.ready = True
            self.conn.send((fn, args, timeout + ORPHAN_GRACE))
            if not self.conn.poll(max(timeout, 0.0)):
                raise GradingTimeout(f"no answer within {timeout}s")
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise GradingWorkerError(f"grading worker died (exit code {self.exitcode})") from exc
        if status != "ok":
            raise _RemoteError(value)
        return value

    @property
    def exitcode(self) -> int | None:
        try:
            return self.process.wait(1)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        _live_workers.discard(self)
        try:
            self.process.kill()
            self.process.wait(5)
        finally:
            self.conn.close()

    def stop(self) -> None:
        _live_workers.discard(self)
        try:
            self.conn.send(None)
            self.process.wait(1)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(5)
        self.conn.close()


@atexit.register
def _kill_live_workers() -> None:
    for worker in list(_live_workers):
        if worker.owner == os.getpid():  # not a forked copy of the parent's registry
            worker.process.kill()


class _Pool:
    """Up to `size` workers, started on demand; a caller borrows one for one call."""

    def __init__(self, size: int = 1):
        self.pid = os.getpid()
        self.size = 0
        self.slots: queue.LifoQueue[_Worker | None] = queue.LifoQueue()  # None: a worker not started yet
        self.lock = threading.Lock()
        self.grow(size)

    def grow(self, size: int) -> None:
        with self.lock:
            for _ in range(size - self.size):
                self.slots.put(None)
            self.size = max(self.size, size)

    def call(self, fn: Callable, args: tuple, timeout: float):
        worker = self.slots.get()
        try:
            if worker is None:
                worker = _Worker()
            try:
                return worker.call(fn, args, timeout)
            except _RemoteError:
                raise  # the function raised; the worker is fine
            except (GradingTimeout, GradingWorkerError):
                worker.kill()
                worker = None  # replaced by the next caller
                raise
        finally:
            self.slots.put(worker)

    def shutdown(self) -> None:
        with self.lock:
            workers = [self.slots.get() for _ in range(self.size)]  # waits for calls in flight
            for worker in workers:
                if worker is not None:
                    worker.stop()
                self.slots.put(None)


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _get_pool(size: int = 1) -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():  # a forked child must not share its parent's workers
            _pool = _Pool(size)
        elif _pool.size < size:
            _pool.grow(size)
        return _pool


def shutdown_workers() -> None:
    """Stop the grading workers (they are also killed when this process exits)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None and pool.pid == os.getpid():
        pool.shutdown()


def run_in_worker(fn: Callable, *args, timeout: float = DEFAULT_TIMEOUT):
    """`fn(*args)` in a grading worker process; at most `timeout` seconds of wall clock.

    `fn` must be picklable (a module-level function). Raises GradingTimeout (the worker is
    killed and replaced) or GradingWorkerError (GradingUnavailable: no worker could start).
    """
    return _get_pool().call(fn, args, timeout)
