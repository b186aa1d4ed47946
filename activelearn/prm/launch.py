"""Training as several processes: `accelerate launch` as a child of the worker (PRM_TRAIN_PROCESSES).

The worker writes a job folder (the run's spec and items), starts `accelerate launch` in a process
group of its own and relays what the main training process reports (progress.jsonl) to the round;
the trained model comes back in the job folder. Data-parallel across the processes (DDP); DeepSpeed
or FSDP through PRM_ACCELERATE_CONFIG, an accelerate config file.

The processes never outlive the run: a cancelled round or any error stops the launcher and every rank
(SIGTERM, then SIGKILL); if the worker itself dies, the launcher gets SIGTERM from the kernel (PR_SET_PDEATHSIG)
and every training process watches the worker's pid and exits when it is gone. A round resumed after
a worker restart trains again from the start, as an in-process training does.

On CPU the ranks join a gloo group through accelerate's torchrun launcher (`--multi_gpu`, with the
training on CPU): in accelerate 1.15 `--cpu --num_processes N` starts one process unless mpirun is used.
"""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from django.conf import settings

from activelearn.prm.training_data import Item

ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.5
STOP_GRACE_S = 15
PARENT_ENV = "STEPWISE_TRAIN_PARENT"
LOG_TAIL = 3000


class LaunchFailed(RuntimeError):
    """The launched training exited with an error; the message ends with its log's tail."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _on_cpu() -> bool:
    import torch

    return settings.PRM_TRAIN_CPU or not torch.cuda.is_available()


def command(job: Path, processes: int) -> list[str]:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
           "--num_machines", "1", "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
           "--dynamo_backend", "no"]
    if settings.PRM_ACCELERATE_CONFIG:
        cmd += ["--config_file", str(settings.PRM_ACCELERATE_CONFIG)]
    elif processes > 1:
        cmd += ["--multi_gpu", "--mixed_precision", "no"]  # torchrun; on CPU the ranks use gloo (see above)
    else:
        cmd += ["--mixed_precision", "no"]
    return cmd + ["-m", "activelearn.prm.train_job", str(job)]


def _environment(processes: int) -> dict:
    env = {**os.environ, PARENT_ENV: str(os.getpid()), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    if _on_cpu():
        env["STEPWISE_TRAIN_CPU"] = "1"
        env["CUDA_VISIBLE_DEVICES"] = ""
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // processes)))
    return env


def _die_with_parent() -> None:
    """In the launcher, before exec: SIGTERM when the worker (its parent) dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def item_from_json(d: dict) -> Item:
    return Item(**d)


def write_job(job: Path, spec: dict, train_items: list, val_items: list) -> None:
    job.mkdir(parents=True, exist_ok=True)
    (job / "spec.json").write_text(json.dumps(spec))
    for name, items in (("train", train_items), ("val", val_items)):
        with open(job / f"{name}.jsonl", "w") as f:
            for it in items:
                f.write(json.dumps(asdict(it)) + "\n")


class _Tree:
    """The launcher and every process below it, remembered as they appear: torchrun starts each rank in a
    session of its own, and a rank whose launcher died is no longer below anything."""

    def __init__(self, pid: int):
        import psutil

        self.root = psutil.Process(pid)
        self.known: dict[int, object] = {}

    def refresh(self) -> None:
        import psutil

        try:
            for child in self.root.children(recursive=True):
                self.known.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def alive(self) -> list:
        import psutil

        out = []
        for p in self.known.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
        return out

    def stop(self, proc: subprocess.Popen) -> None:
        """SIGTERM to the launcher's group and every rank, then SIGKILL to what is left after a grace period
        (psutil checks a pid was not reused before it signals)."""
        import psutil

        self.refresh()
        procs = list(self.known.values())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        _, left = psutil.wait_procs(procs, timeout=1 if proc.poll() is not None else 0)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for p in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(left, timeout=30)
        proc.wait(timeout=30)


class _Relay:
    """Reads the lines the main training process appends to progress.jsonl."""

    def __init__(self, path: Path, progress: Callable[[dict], None] | None):
        self.path, self.progress, self.offset = path, progress, 0

    def __call__(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        self.offset += end
        for line in data[:end].splitlines():
            if line.strip() and self.progress:
                self.progress(json.loads(line))


def run(spec: dict, train_items: list, val_items: list, work: Path, out_dir: Path,
        progress: Callable[[dict], None] | None, processes: int, on_start: Callable[[int], None] | None = None) -> dict:
    # the launched processes evaluate with registry.evaluate_items themselves (train_job.py)
    """Train in `processes` launched processes; the model lands in `out_dir`. `progress` may raise
    (a cancelled round): the processes are stopped and the exception goes on."""
    job = Path(work) / "job"
    write_job(job, {**spec, "out_dir": str(out_dir)}, train_items, val_items)
    relay = _Relay(job / "progress.jsonl", progress)
    with open(job / "train.log", "wb") as log:
        proc = subprocess.Popen(command(job, processes), cwd=ROOT, env=_environment(processes), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        tree = _Tree(proc.pid)
        try:
            if on_start:
                on_start(proc.pid)
            while proc.poll() is None:
                tree.refresh()
                relay()
                time.sleep(POLL_S)
            relay()
        except BaseException:
            tree.stop(proc)
            raise
        if tree.alive():  # a rank left behind by a failed launcher
            tree.stop(proc)
    if proc.returncode != 0 or not (job / "result.json").exists():
        tail = (job / "train.log").read_bytes()[-LOG_TAIL:].decode("utf-8", "replace")
        raise LaunchFailed(f"accelerate launch with {processes} process(es) exited with {proc.returncode}:\n{tail}")
    return json.loads((job / "result.json").read_text())
