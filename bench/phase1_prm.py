"""A PRM trained on people's step labels (PRM800K phase 1), scored on problems it never saw (issue 26, item 7).

    .venv/bin/python bench/phase1_prm.py                       # seeds 0 1 2, ~9 min each on a 2-core CPU
    .venv/bin/python bench/phase1_prm.py --seeds 0 --max-steps 40   # a quick look

Data: ../shared/data/prm800k-phase1/ (read in place), opened by the importer's own reader
(labeling.imports.detect.open_records: the flat stepwise-critic rows grouped into phase-1 passes).
Split: by problem, training_data.is_validation(problem, --test-fraction, seed), the split every version uses.
Training: the project's PRM path: each pass's rated sequences as training_data.prm_items makes them
(labeling.formats.trl.rated_paths; ratings -1/0/+1 kept as three classes, neutral="keep", the training default;
nothing after a -1 supervised; a step the labeller wrote counts +1), a new head on all-MiniLM-L6-v2 cut to
--layers layers (heads.build, fit.encode, training.train), --max-steps optimiser steps of --batch-size
(on as many of the sequences, drawn at random).
Evaluation: every rated step candidate of the held-out passes (steps the labeller wrote carry no rating and are
left out), scored on the problem and the chosen steps before it, as the labeller saw it. The step score is the
project's (P(+1) + P(0)); AUROC of "+1 vs the rest" and "not -1 vs the rest", beside the rule "longer steps are
worse" (score = minus the step's length in characters), and the mean score of each rating class.

Figures go to docs/findings/phase1-prm.json and phase1-prm.md, and are printed.
"""
import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "docs" / "findings"
DATA = REPO.parent / "shared" / "data" / "prm800k-phase1" / "phase1_train.stepwise-critic.parquet"


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def load_passes(path: Path) -> list[dict]:
    from labeling.imports.detect import open_records

    fmt, records = open_records(path, labels=None)
    return [rec for _, rec in records] if fmt == "stepwise-critic" else list(records)


def training_items(passes: list[dict], neutral: str):
    from activelearn.prm.training_data import Item, pass_sequences

    return [Item(p["question"]["problem"], texts, labels, p["question"]["problem"])
            for p in passes for texts, labels, _ in pass_sequences(p["label"]["steps"], neutral)]


def eval_points(passes: list[dict]) -> list[tuple[str, list[str], int]]:
    """(problem, steps up to and including the rated candidate, its rating) for every rated candidate."""
    points = []
    for p in passes:
        problem, chosen = p["question"]["problem"], []
        for step in p["label"]["steps"]:
            for comp in step.get("completions") or []:
                if comp.get("rating") is not None:
                    points.append((problem, [*chosen, comp["text"]], int(comp["rating"])))
            k = step.get("chosen_completion")
            if k is not None:
                chosen.append(step["completions"][k]["text"])
            elif step.get("human_completion"):
                chosen.append(step["human_completion"]["text"])
            else:
                break
    return points


def figures(scores: list[float], ratings: list[int]) -> dict:
    from activelearn.prm import metrics

    by_class = {}
    for r in (-1, 0, 1):
        vals = [s for s, x in zip(scores, ratings, strict=True) if x == r]
        by_class[str(r)] = {"n": len(vals), "mean": statistics.fmean(vals) if vals else None}
    return {"auroc_pos_vs_rest": metrics.auroc(scores, [r == 1 for r in ratings]),
            "auroc_notneg_vs_neg": metrics.auroc(scores, [r != -1 for r in ratings]), "by_class": by_class}


def run_seed(passes: list[dict], seed: int, args) -> dict:
    import torch

    from activelearn.prm import fit, heads, metrics
    from activelearn.prm.training import TrainConfig, train
    from activelearn.prm.training_data import is_validation
    from activelearn.selection import simulation

    torch.set_num_threads(args.threads)
    train_p = [p for p in passes if not is_validation(p["question"]["problem"], args.test_fraction, seed)]
    test_p = [p for p in passes if is_validation(p["question"]["problem"], args.test_fraction, seed)]
    items = training_items(train_p, args.neutral)
    # The optimiser sees max_steps x batch_size sequences: those, drawn at random, are all that is encoded
    # (encoding all ~33,000, each repeating its pass's earlier steps, takes minutes and GBs for nothing).
    seen = random.Random(seed).sample(items, min(len(items), args.max_steps * args.batch_size))
    points = eval_points(test_p)
    cfg = TrainConfig(epochs=1000, max_steps=args.max_steps, batch_size=args.batch_size, learning_rate=args.lr,
                      max_length=args.max_length, seed=seed)
    out = {"seed": seed, "problems": {"train": len({p["question"]["problem"] for p in train_p}),
                                      "test": len({p["question"]["problem"] for p in test_p})},
           "passes": {"train": len(train_p), "test": len(test_p)}, "train_sequences": len(items),
           "sequences_seen": len(seen),
           "train_step_labels": sum(c is not None for it in items for c in it.labels), "seconds": {}}
    with tempfile.TemporaryDirectory(prefix="stepwise-phase1-") as tmp, simulation.quiet_transformers():
        base = simulation.build_backbone(simulation.SimConfig(layers=args.layers, train=cfg), [], Path(tmp))
        rm = heads.build(base, heads.model_options_of(None), new_head=True, max_length=cfg.max_length, seed=seed)
        t = time.perf_counter()
        history = train(rm, fit.encode(rm, seen), [], Path(tmp) / "work", cfg)
        out["seconds"]["train"] = round(time.perf_counter() - t, 1)
        out["train_loss"] = history["train_loss"]
        t = time.perf_counter()
        probs = rm.step_probs([(problem, steps) for problem, steps, _ in points])
        out["seconds"]["score"] = round(time.perf_counter() - t, 1)
    ratings = [r for *_, r in points]
    last = [p[len(steps) - 1] for p, (_, steps, _) in zip(probs, points, strict=True)]
    out["prm"] = figures([float(metrics.step_score(p)) for p in last], ratings)
    out["prm_p_plus"] = figures([float(metrics.step_score(p, neutral="negative")) for p in last], ratings)
    out["longer_is_worse"] = figures([-float(len(steps[-1])) for _, steps, _ in points], ratings)
    out["mean_chars"] = {str(r): statistics.fmean(len(s[-1]) for _, s, x in points if x == r) for r in (-1, 0, 1)}
    return out


def markdown(result: dict) -> str:
    def f(v):
        return "n/a" if v is None else f"{v:.3f}"

    rows = ["| seed | problems train / held out | held-out rated steps (-1 / 0 / +1) | train | "
            "AUROC +1 vs rest: PRM / -length | AUROC not -1 vs -1: PRM / -length | "
            "PRM mean step score at -1 / 0 / +1 |", "|---|---|---|---|---|---|---|"]
    for s in result["seeds"]:
        n = s["prm"]["by_class"]
        rows.append(f"| {s['seed']} | {s['problems']['train']} / {s['problems']['test']} | "
                    f"{n['-1']['n']:,} / {n['0']['n']:,} / {n['1']['n']:,} | {s['seconds']['train']:.0f} s, "
                    f"{s['sequences_seen']:,} of {s['train_sequences']:,} sequences | "
                    f"**{f(s['prm']['auroc_pos_vs_rest'])}** / {f(s['longer_is_worse']['auroc_pos_vs_rest'])} | "
                    f"**{f(s['prm']['auroc_notneg_vs_neg'])}** / {f(s['longer_is_worse']['auroc_notneg_vs_neg'])} | "
                    + " / ".join(f(n[c]["mean"]) for c in ("-1", "0", "1")) + " |")
    m = result["mean"]
    rows.append(f"| mean | | | | **{f(m['prm_pos'])}** / {f(m['len_pos'])} | **{f(m['prm_neg'])}** / "
                f"{f(m['len_neg'])} | |")
    return "\n".join(rows) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--test-fraction", type=float, default=0.1, help="share of problems held out")
    p.add_argument("--layers", type=int, default=2, help="keep the backbone's first N layers")
    p.add_argument("--max-steps", type=int, default=120, help="optimiser steps (bounds the training time)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--neutral", default="keep", help="training's neutral policy (keep: three classes)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    _django()
    t0 = time.perf_counter()
    passes = load_passes(args.data)
    load_s = round(time.perf_counter() - t0, 1)
    result = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "config": {**vars(args), "data": args.data.name},
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start",
              "passes": len(passes), "load_seconds": load_s, "seeds": []}
    OUT.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        s = run_seed(passes, seed, args)
        result["seeds"].append(s)
        print(f"seed {seed}: train {s['seconds']['train']} s, score {s['seconds']['score']} s; AUROC +1 vs rest "
              f"PRM {s['prm']['auroc_pos_vs_rest']:.3f} vs -length {s['longer_is_worse']['auroc_pos_vs_rest']:.3f}; "
              f"not -1 vs -1 PRM {s['prm']['auroc_notneg_vs_neg']:.3f} vs -length "
              f"{s['longer_is_worse']['auroc_notneg_vs_neg']:.3f}", flush=True)
        result["mean"] = {k: statistics.fmean(x[m][a] for x in result["seeds"])
                          for k, m, a in (("prm_pos", "prm", "auroc_pos_vs_rest"),
                                          ("len_pos", "longer_is_worse", "auroc_pos_vs_rest"),
                                          ("prm_neg", "prm", "auroc_notneg_vs_neg"),
                                          ("len_neg", "longer_is_worse", "auroc_notneg_vs_neg"))}
        result["load_at_end"] = round(os.getloadavg()[0], 1)
        from activelearn.prm.metrics import json_safe

        (OUT / "phase1-prm.json").write_text(json.dumps(json_safe(result), indent=1) + "\n")
        (OUT / "phase1-prm.md").write_text(markdown(result))
    print(markdown(result))
    print(f"wrote {OUT}/phase1-prm.json and phase1-prm.md in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
