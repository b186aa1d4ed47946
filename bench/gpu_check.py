"""The GPU check (bench/gpu_check.sh): train (LoRA and full), score and run a best-of-N with the backbone given,
and print throughput beside the same on CPU. It prints figures; its CPU run (`--tiny`) is a test.

    .venv/bin/python bench/gpu_check.py BACKBONE_DIR [--head causal_lm] [--train-steps 20] [--json]
    .venv/bin/python bench/gpu_check.py --tiny          # a random tiny GPT-2 made here, on CPU only

Data: the demo generator's problems (labeling.demo.problems, seeded): labelled sequences cut at their first
error to train on, and every candidate solution (final answer right or wrong) to score and pick from.

Per device and mode it reports training sequences/s (the wall time of the whole train() call, the Trainer's
set-up included: a short run understates the steady rate), scoring steps/s (every solution scored once, end
to end, tokenising included) and best-of-N accuracy (PRM pick vs majority vote, N = 1, 2, 4; 20 training
steps teach a fresh head little, so these say the path works, not how good). A mode that runs out of GPU
memory (a full fine-tune of a 7B backbone on one 80 GB card does) is reported as `out of memory` and the
check goes on. On CPU the tiny random model stands in for the backbone (a 7B step on 2 CPU cores would take
hours); the CPU rows say so.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _data(n_problems: int, seed: int = 0):
    from activelearn.prm.training_data import Item
    from labeling.demo.problems import generate

    train, pool = [], []
    for p in generate(n_problems, 4, seed=seed):
        for sol in p.solutions:
            k = len(sol.steps) if sol.first_error is None else sol.first_error + 1
            labels = [2] * (k - 1) + [2 if sol.first_error is None else 0]
            train.append(Item(p.text, sol.steps[:k], labels, group=p.source_id))
            pool.append({"problem": p.text, "steps": sol.steps, "is_correct": sol.is_correct,
                         "answer": sol.final_answer, "unique_id": p.source_id})
    return train, pool


def _tiny_backbone(out: Path) -> Path:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from labeling.demo.problems import generate

    corpus = [t for p in generate(30, 4, seed=1) for t in (p.text, *(s for sol in p.solutions for s in sol.steps))]
    raw = ByteLevelBPETokenizer()
    raw.train_from_iterator(corpus, vocab_size=400, min_frequency=1, special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=raw._tokenizer, bos_token="<|endoftext|>",
                                  eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2, n_positions=512,
                                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _head_of(path: Path) -> str:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    architectures = json.loads((path / "config.json").read_text()).get("architectures") or []
    return "causal_lm" if set(architectures) & set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values()) else \
        "token_classification"


def _one(backbone: Path, head: str, mode: str, device: str, train_items, pool, args, work: Path) -> dict:
    import torch

    from activelearn.prm import best_of_n, fit, heads, training
    from activelearn.prm.training import TrainConfig

    model = {"head": head, "gradient_checkpointing": args.gradient_checkpointing}
    if mode == "lora":
        model["lora"] = {"r": args.lora_r, "alpha": 2 * args.lora_r, "dropout": 0.0}
    opts = heads.model_options_of(model)
    cfg = TrainConfig(max_steps=args.train_steps, batch_size=args.batch_size, learning_rate=args.lr,
                      warmup_ratio=0.0, max_length=args.max_length, seed=0)
    out: dict = {"device": device, "mode": mode, "head": head}
    try:
        rm = heads.build(str(backbone), opts, new_head=True, max_length=args.max_length, seed=0, device=device)
        if device == "cpu":
            rm.training_overrides = {**rm.training_overrides, "use_cpu": True, "bf16": False}
        rows = fit.encode(rm, train_items[:args.train_steps * args.batch_size])
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        history = training.train(rm, rows, [], work / f"{device}-{mode}", cfg)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start  # the whole train() call: the Trainer's set-up included
        out["train_loss"] = history["train_loss"]
        out["train_sequences_per_s"] = history["global_step"] * args.batch_size / seconds
        solutions = pool[:args.score_solutions]
        path = work / "pool.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in solutions))
        rm.model.eval()
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        rm.score([(r["problem"], r["steps"]) for r in solutions])
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        out["score_steps_per_s"] = sum(len(r["steps"]) for r in solutions) / seconds
        bon = best_of_n.of_file(rm, None, str(path), [1, 2, 4], trials=100, seed=0)
        out["best_of_n"] = {m: [round(row["accuracy"], 3) for row in curve] for m, curve in bon["curves"].items()}
        if device == "cuda":
            out["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    except torch.cuda.OutOfMemoryError as exc:
        out["error"] = f"out of memory: {str(exc).splitlines()[0][:200]}"
    finally:
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backbone", nargs="?", help="A local checkpoint directory (a causal LM or an encoder).")
    parser.add_argument("--tiny", action="store_true", help="No backbone: a random tiny GPT-2, on CPU only.")
    parser.add_argument("--head", choices=("causal_lm", "token_classification"),
                        help="Default: causal_lm for a causal LM, else token_classification.")
    parser.add_argument("--modes", nargs="+", default=["lora", "full"], choices=("lora", "full"))
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--score-solutions", type=int, default=256)
    parser.add_argument("--problems", type=int, default=80, help="Demo problems (4 candidate solutions each).")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--cpu-steps", type=int, default=5, help="Training steps of the CPU rows.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.backbone and not args.tiny:
        parser.error("give a BACKBONE directory, or --tiny")

    import django

    django.setup()
    import torch

    train_items, pool = _data(args.problems)
    results = []
    # the Trainer prints its logs: with --json they go to stderr, so stdout is the report alone
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as tmp, quiet:
        work = Path(tmp)
        tiny = _tiny_backbone(work / "tiny")
        if args.backbone and torch.cuda.is_available():
            backbone = Path(args.backbone).expanduser().resolve()
            head = args.head or _head_of(backbone)
            for mode in args.modes:
                results.append({"backbone": backbone.name, **_one(backbone, head, mode, "cuda", train_items, pool,
                                                                  args, work)})
        elif args.backbone:
            print("no CUDA GPU here: only the CPU rows (tiny random model)", file=sys.stderr)
        cpu_args = argparse.Namespace(**{**vars(args), "train_steps": args.cpu_steps, "max_length": 256,
                                         "score_solutions": min(args.score_solutions, 64), "lr": 3e-3})
        for mode in args.modes:
            results.append({"backbone": "tiny random GPT-2 (CPU stand-in)",
                            **_one(tiny, args.head or "causal_lm", mode, "cpu", train_items, pool, cpu_args, work)})
    machine = {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    if args.json:
        print(json.dumps({"machine": machine, "results": results}, indent=1))
        return 0 if all("error" not in r for r in results if r["device"] == "cpu") else 1
    print(f"machine: {machine}")
    print(f"{'device':6} {'mode':5} {'backbone':34} {'train seq/s':>11} {'score steps/s':>13}  best-of-N "
          "prm / majority at N=1,2,4")
    for r in results:
        if "error" in r:
            print(f"{r['device']:6} {r['mode']:5} {r['backbone'][:34]:34} {r['error']}")
            continue
        bon = r["best_of_n"]
        print(f"{r['device']:6} {r['mode']:5} {r['backbone'][:34]:34} {r['train_sequences_per_s']:11.2f} "
              f"{r['score_steps_per_s']:13.1f}  {bon['prm']} / {bon['majority']}")
    return 0 if all("error" not in r for r in results if r["device"] == "cpu") else 1


if __name__ == "__main__":
    sys.exit(main())
