"""One launched training process: `accelerate launch ... -m activelearn.prm.train_job JOB` (launch.py).

Every rank trains (fit.fit_here); the main one reports progress to JOB/progress.jsonl, evaluates, saves
the model to the spec's out_dir and writes JOB/result.json last. Each rank exits as soon as the worker
that launched it is gone."""
import json
import os
import sys
import threading
import time
from pathlib import Path

PARENT_ENV = "STEPWISE_TRAIN_PARENT"  # launch.PARENT_ENV (not imported: Django is not set up yet)
ORPHANED_EXIT = 75


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")  # a dead worker not yet reaped is gone too


def watch_parent(pid: int, every_s: float = 1.0) -> None:
    def loop():
        while True:
            if not _alive(pid):
                os._exit(ORPHANED_EXIT)
            time.sleep(every_s)

    threading.Thread(target=loop, name="watch-worker", daemon=True).start()


def _writer(path: Path):
    def write(logs: dict) -> None:
        with open(path, "a") as f:
            f.write(json.dumps(logs, default=str) + "\n")

    return write


def main(job: Path) -> None:
    parent = int(os.environ.get(PARENT_ENV) or 0)
    if parent:
        watch_parent(parent)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from accelerate import PartialState

    from activelearn.prm import fit, launch, registry, training

    state = PartialState(cpu=os.environ.get("STEPWISE_TRAIN_CPU") == "1")
    spec = json.loads((job / "spec.json").read_text())
    items = {name: [launch.item_from_json(json.loads(line)) for line in open(job / f"{name}.jsonl") if line.strip()]
             for name in ("train", "val")}
    main_process = state.is_main_process
    result = fit.fit_here(spec, items["train"], items["val"], job / "work", Path(spec["out_dir"]),
                          _writer(job / "progress.jsonl") if main_process else None, training.train,
                          registry.evaluate_items, main=main_process, world=state.num_processes)
    if main_process:
        result["processes"] = state.num_processes
        result["distributed_type"] = str(state.distributed_type).split(".")[-1]
        (job / "result.tmp").write_text(json.dumps(result))
        os.replace(job / "result.tmp", job / "result.json")
    state.wait_for_everyone()
    state.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
