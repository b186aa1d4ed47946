"""One training run of a version, wherever it runs: inside the worker's process (PRM_TRAIN_PROCESSES=0,
as before) or as `accelerate launch` processes (launch.py). A run is a JSON spec plus its items, so both
ways run the same code (`fit_here`)."""
import math
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from activelearn.prm import heads
from activelearn.prm.training import TrainConfig
from activelearn.prm.training_data import Item


def spec_of(kind: str, base: str, root_base: str, new_head: bool, cfg: TrainConfig, opts: heads.ModelOptions,
            version: int) -> dict:
    """`base`: what is loaded (a backbone, or the version fine-tuned from); `root_base`: the backbone it all
    started from (what remote-code permission and adapters refer to)."""
    return {"kind": kind, "base": base, "root_base": root_base, "new_head": new_head, "cfg": cfg.as_dict(),
            "model": opts.as_dict(), "version": version}


def run(spec: dict, train_items: list[Item], val_items: list[Item], work: Path, out_dir: Path,
        progress: Callable[[dict], None] | None, train_fn: Callable, evaluate: Callable) -> dict:
    """Train and save to `out_dir`; the training summary and validation figures (`evaluate`: the registry's
    evaluation, passed in so that this module does not import the registry that imports it)."""
    processes = settings.PRM_TRAIN_PROCESSES
    if processes and processes > 0:
        from activelearn.prm import launch

        return launch.run(spec, train_items, val_items, work, out_dir, progress, processes)
    return fit_here(spec, train_items, val_items, work, out_dir, progress, train_fn, evaluate)


def fit_here(spec: dict, train_items: list[Item], val_items: list[Item], work: Path, out_dir: Path,
             progress: Callable[[dict], None] | None, train_fn: Callable, evaluate: Callable, *,
             main: bool = True, world: int = 1) -> dict:
    """Build, train, and (the main process) evaluate and save. With `world` processes each takes
    1/world of the batch, so the optimiser sees the same batch size as one process would."""
    cfg = TrainConfig(**spec["cfg"])
    if world > 1:
        cfg.batch_size = max(1, math.ceil(cfg.batch_size / world))
    opts = heads.model_options_of(spec["model"])
    opts.trust_remote_code = bool(spec["model"].get("trust_remote_code"))
    rm = heads.build(spec["base"], opts, new_head=spec["new_head"], max_length=cfg.max_length, seed=cfg.seed)
    history = train_fn(rm, encode(rm, train_items), encode(rm, val_items), work, cfg, progress)
    if not main:
        return {}
    result = {"training": {k: v for k, v in history.items() if k != "history"},
              "validation": validation_figures(rm, val_items, evaluate)}
    heads.save(rm, out_dir, opts, spec["root_base"], kind=spec["kind"], version=spec["version"])
    return result


def encode(rm, items: list[Item]) -> list:
    return rm.encode([(i.problem, i.steps) for i in items], [i.labels for i in items], [i.soft for i in items],
                     [i.weight for i in items])


def validation_figures(rm, items: list[Item], evaluate: Callable) -> dict:
    """The figures every version carries (`evaluate`: registry.evaluate_items), on the validation items
    people labelled (automatic labels are what is being learnt, not truth). The one place the runs of
    this issue's modules (in process, launched, registered) call the evaluation."""
    return evaluate(rm, [i for i in items if i.source == "human"])
