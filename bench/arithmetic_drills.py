"""Can the learnability benchmark's micro model learn to check an equation at all? (issue 26, item 4)

    .venv/bin/python bench/arithmetic_drills.py --drills domain --steps 6000 --lr 3e-4
    .venv/bin/python bench/arithmetic_drills.py --drills small --steps 9000 --lr 3e-4

A PRM on the demo domain needs an exact arithmetic check (`paper_findings.py ceiling`: 0.875-0.889 with
equations checked exactly, 0.90 only with misreads spotted too), and one bit per step did not teach it.
Here the model gets the densest signal a classifier can: nothing but equations, each one step of its own,
half of them made false by the demo's own slips (off by 1-3 or 10, a factor added or dropped, the last two
digits swapped). `domain`: every true equation (no unknown) of right steps of demo solutions, from a seed
the evaluation does not use; `small`: one-digit products and two-digit sums and differences (what a
small-operand domain would ask). The model, tokenizer and training are the learnability benchmark's (a
causal micro BERT, numbers written digit by digit, `training.train`); held out: drills of other problems
(domain) or other draws (small), AUROC of "true" above "false", overall and per operation.
Figures to docs/findings/drills-NAME.json.
"""
import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "docs" / "findings"
OPS = {"\\times": "product", "\\cdot": "product", "+": "sum", "-": "difference"}


def slipped(value: int, lhs: str, rng: random.Random) -> int | None:
    """A false result as the demo's Writer makes one (problems.Writer._wrong's kinds)."""
    options = [value + d for d in (-10, -3, -2, -1, 1, 2, 3, 10)]
    s = str(abs(value))
    if abs(value) >= 10 and s[-1] != s[-2]:
        options.append(int(s[:-2] + s[-1] + s[-2]) * (1 if value > 0 else -1))
    if "times" in lhs or "cdot" in lhs:
        options += [value + sign * int(n) for n in re.findall(r"\d+", lhs) for sign in (1, -1)]
    options = [o for o in options if o != value and o > 0]
    return rng.choice(options) if options else None


def drill(lhs: str, value: int, rng: random.Random) -> dict | None:
    false = rng.random() < 0.5
    shown = slipped(value, lhs, rng) if false else value
    if shown is None:
        return None
    op = next((name for sym, name in OPS.items() if sym in lhs), "other")
    return {"problem": "", "steps": [f"${lhs} = {shown}$"], "ratings": [-1 if false else 1],
            "label": 0 if false else -1, "op": op}


def domain_drills(records, rng: random.Random) -> list[dict]:
    """A drill of every true equation (no unknown) of the right steps of `records` (demo records)."""
    from labeling.demo import checker

    out = []
    for r in records:
        upto = len(r["steps"]) if r["label"] == -1 else r["label"]
        for step in r["steps"][:upto]:
            for seg in checker._MATH.findall(step.split("# Answer")[0]):
                sides = seg.split("=")
                if len(sides) != 2 or "x" in seg:
                    continue
                left, right = map(checker.evaluate, sides)
                if left is None or left != right or left.denominator != 1 or sides[0].strip() == str(left):
                    continue
                d = drill(sides[0].strip(), int(left), rng)
                if d:
                    out.append(d)
    return out


def small_drills(n: int, rng: random.Random) -> list[dict]:
    out = []
    while len(out) < n:
        op = rng.choice(["product", "sum", "difference"])
        if op == "product":
            a, b = rng.randint(2, 9), rng.randint(2, 9)
            lhs, value = f"{a} \\times {b}", a * b
        elif op == "sum":
            a, b = rng.randint(2, 60), rng.randint(2, 40)
            lhs, value = f"{a} + {b}", a + b
        else:
            a = rng.randint(10, 99)
            b = rng.randint(2, a - 1)
            lhs, value = f"{a} - {b}", a - b
        d = drill(lhs, value, rng)
        if d:
            out.append(d)
    return out


def train_after_drills(base: str, records: list[dict], drills: list[dict], drill_steps: int, cfg, work_dir: Path):
    """The learnability benchmark's PRM, its model first trained `drill_steps` steps of 64 on `drills` (the same
    head and classes: a drill is a one-step solution), then on `records` exactly as `train_fresh` trains."""
    from dataclasses import replace

    from activelearn.prm.training import train
    from activelearn.selection.simulation import oracle_classes, train_fresh

    drill_cfg = replace(cfg, train=replace(cfg.train, max_steps=drill_steps, max_length=48, batch_size=64))
    rm, first = train_fresh(base, drills, drill_cfg, work_dir / "drills")
    rm.max_length = cfg.train.max_length
    rows = rm.encode([(r["problem"], r["steps"]) for r in records], [oracle_classes(r) for r in records])
    history = train(rm, rows, [], work_dir / "prm", cfg.train, progress=lambda logs: None)
    return rm, {**history, "drill_loss": first["train_loss"]}


def run(args) -> dict:
    import torch

    from activelearn.prm import metrics
    from activelearn.prm.micro import build_micro_backbone
    from activelearn.prm.training import TrainConfig
    from activelearn.selection import simulation
    from labeling.demo import sampling

    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    if args.drills == "domain":  # training problems from another seed than the held-out ones
        train = domain_drills(sampling.records(600, 8, 1000 + args.seed), rng)
        test = domain_drills(sampling.records(100, 4, args.seed), random.Random(f"test:{args.seed}"))[:args.test]
    else:
        train, test = small_drills(40000, rng), small_drills(args.test, random.Random(f"test:{args.seed}"))
    corpus = [t for r in sampling.records(300, 8, 1000 + args.seed) for t in (r["problem"], *r["steps"])]
    cfg = simulation.SimConfig(base="micro", layers=None, threads=args.threads, train=TrainConfig(
        epochs=1000, max_steps=args.steps, learning_rate=args.lr, max_length=48, batch_size=args.batch_size,
        seed=args.seed))
    with tempfile.TemporaryDirectory(prefix="stepwise-drills-") as tmp, simulation.quiet_transformers():
        base = str(build_micro_backbone(Path(tmp) / "micro", corpus, args.arch, vocab_size=600, hidden=args.hidden,
                                        layers=args.layers, heads=args.heads, digits=True, numbers=args.numbers,
                                        seed=args.seed))
        t, cpu = time.perf_counter(), time.process_time()
        model, history = simulation.train_fresh(base, train, cfg, Path(tmp) / "prm")
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        scores = [s for _, s in model.score([(r["problem"], r["steps"]) for r in test])]
    labels = [r["label"] for r in test]
    out = {"config": vars(args), "drills": {"train": len(train), "test": len(test)},
           "train_seconds": round(seconds, 1), "train_cpu_seconds": round(cpu, 1),
           "load_average": os.getloadavg(), "train_loss": history["train_loss"],
           "auroc": metrics.step_auroc(scores, labels), "by_operation": {}}
    for op in sorted({r["op"] for r in test}):
        idx = [i for i, r in enumerate(test) if r["op"] == op]
        out["by_operation"][op] = {"n": len(idx), "auroc": metrics.step_auroc([scores[i] for i in idx],
                                                                              [labels[i] for i in idx])}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--drills", choices=["domain", "small"], default="domain")
    p.add_argument("--arch", choices=["bert", "gpt2"], default="bert")
    p.add_argument("--numbers", choices=["digits", "reversed"], default="reversed")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--steps", type=int, default=3000, help="optimiser steps")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--test", type=int, default=2000, help="held-out drills (at most)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="docs/findings/drills-NAME.json (default: DRILLS-STEPS-seedS)")
    args = p.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    result = run(args)
    from activelearn.prm.metrics import json_safe

    name = args.name or f"{args.drills}-{args.arch}-{args.steps}-seed{args.seed}"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"drills-{name}.json").write_text(json.dumps(json_safe(result), indent=1) + "\n")
    by_op = ", ".join(f"{op} {v['auroc']:.3f} (n={v['n']})" for op, v in result["by_operation"].items())
    print(f"{args.drills} drills, {args.arch}, {args.steps} x {args.batch_size}, lr {args.lr}: "
          f"held-out AUROC {result['auroc']:.3f} ({by_op}); train {result['train_seconds']} s "
          f"(own CPU {result['train_cpu_seconds']} s); loss {result['train_loss']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
