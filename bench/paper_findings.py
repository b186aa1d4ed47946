"""The paper's two findings on the demo domain, where a program (labeling/demo/checker.py) labels every step.

    .venv/bin/python bench/paper_findings.py best-of-n     # process vs outcome supervision (Figure 3's shape)
    .venv/bin/python bench/paper_findings.py replay        # convincing wrong answers vs uniform (section 4.2)
    .venv/bin/python bench/paper_findings.py learnability --digits   # a micro model reading digits
    .venv/bin/python bench/paper_findings.py learnability --numbers reversed   # digits, last digit first
    .venv/bin/python bench/paper_findings.py learnability --alone --numbers reversed --max-length 96  # steps alone
    .venv/bin/python bench/paper_findings.py learnability --numbers reversed --pretrain-steps 1000  # LM first
    .venv/bin/python bench/paper_findings.py ceiling --seed 0   # what one exact skill would score, no training
    .venv/bin/python bench/paper_findings.py replay --strategy convincing --strategy uniform --strategy uncertainty \\
        --strategy disagreement

best-of-n: problems are split 80/20 by problem. A PRM (the checker's step labels up to the first error)
and an ORM (the same backbone and solutions, only the final answer's right or wrong on the last
step) are trained on the training problems' samples; on the held-out problems' samples the PRM's
pick (its steps' product, the paper's; under min, last and mean_log too, printed and in the JSON), the
ORM's pick, majority vote and a random pick are compared at N = 1 ... --test-samples, and the PRM's
held-out step AUROC is reported (the learnability goal: at least 0.9).

replay: `simulate_active_learning`'s loop on the domain with the paper's protocol: per problem the top
--per-problem of its samples, 80% the most convincing wrong answers and 20% the most convincing of
the rest, against uniform, same budgets, retraining from scratch every round, one run per --seed;
the data-efficiency ratio (labels uniform needs to reach convincing's final score, over
convincing's) per labelled solution and per step label, on held-out step AUROC, ProcessBench F1
and best-of-N, with its spread over seeds. `disagreement` uses rollout labels as the demo's
rollout labeller gives them (exact, except that a false re-check after which the right answer
follows looks sound to rollouts).

Figures go to docs/findings/ (CSV, JSON, PNG) and are printed.
"""
import argparse
import csv
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "docs" / "findings"


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _split(records: list[dict], fraction: float = 0.2):
    from activelearn.prm.training_data import is_validation

    train, test = [], []
    for r in records:
        (test if is_validation(r["problem"], fraction, 0) else train).append(r)
    return train, test


def best_of_n(args) -> dict:
    from activelearn.prm import metrics
    from activelearn.prm.aggregation import AGGREGATIONS, aggregate
    from activelearn.prm.best_of_n import best_of_n_curve
    from activelearn.prm.training import TrainConfig
    from activelearn.selection import simulation
    from labeling.demo import sampling

    t0 = time.perf_counter()
    records = list(sampling.records(args.problems, args.test_samples, args.seed))
    train, test = _split(records)
    per_problem: dict[str, list[dict]] = {}
    for r in train:
        per_problem.setdefault(r["unique_id"], []).append(r)
    train = [r for rs in per_problem.values() for r in rs[:args.train_samples]]
    cfg = simulation.SimConfig(base=args.base, layers=args.layers or None, threads=args.threads,
                               train=TrainConfig(epochs=args.epochs, learning_rate=args.lr, max_length=256,
                                                 batch_size=args.batch_size, seed=args.seed))
    gen_s = time.perf_counter() - t0
    out = {"problems": {"train": len(per_problem), "test": len({r["unique_id"] for r in test})},
           "solutions": {"train": len(train), "test": len(test)}, "config": vars(args), "seconds": {}}
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="stepwise-findings-") as tmp, simulation.quiet_transformers():
        base = simulation.build_backbone(cfg, [], Path(tmp))
        models = {}
        for name, classes_of in (("prm", simulation.oracle_classes), ("orm", simulation.outcome_classes)):
            t = time.perf_counter()
            models[name], _ = simulation.train_fresh(base, train, cfg, Path(tmp) / name, classes_of)
            out["seconds"][f"train_{name}"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        items = [(r["problem"], r["steps"]) for r in test]
        prm = models["prm"].score(items)
        orm_probs = models["orm"].step_probs(items)
        out["seconds"]["score"] = round(time.perf_counter() - t, 1)
    labels = [r["label"] for r in test]
    prm_steps = [s for _, s in prm]
    threshold, _ = metrics.choose_threshold(prm_steps, labels)
    out["prm_heldout"] = {"step_auroc": metrics.step_auroc(prm_steps, labels),
                          **metrics.evaluate_processbench(prm_steps, labels, threshold), "threshold": threshold}
    orm_scores = [float(metrics.step_score(p[-1])) for p in orm_probs]  # the ORM's verdict: its last step
    out["orm_heldout_auroc"] = metrics.auroc(orm_scores, [r["final_answer_correct"] for r in test])
    right = [r["final_answer_correct"] for r in test]
    out["prm_heldout_auroc_final_answer"] = metrics.auroc([s for s, _ in prm], right)
    by_agg = {how: [aggregate(steps, how) for _, steps in prm] for how in AGGREGATIONS}  # "prm" below is prod
    out["prm_final_answer_auroc_by_aggregation"] = {how: metrics.auroc(sc, right) for how, sc in by_agg.items()}
    # A false re-check is a wrong step in a sample whose answer is right: a PRM that spots it scores right
    # answers down. Without those samples, and each kind's mean score, to see how much that explains.
    kept = [i for i, r in enumerate(test) if r.get("kind") != "aside"]
    out["final_answer_auroc_without_false_rechecks"] = {
        **{f"prm_{how}": metrics.auroc([sc[i] for i in kept], [right[i] for i in kept]) for how, sc in by_agg.items()},
        "orm": metrics.auroc([orm_scores[i] for i in kept], [right[i] for i in kept]), "samples": len(kept)}
    kinds: dict[str, list[int]] = {}
    for i, r in enumerate(test):
        kinds.setdefault(r.get("kind") or "sound", []).append(i)
    out["mean_score_by_kind"] = {k: {"n": len(idx), "prm_prod": statistics.fmean(by_agg["prod"][i] for i in idx),
                                     "prm_last": statistics.fmean(by_agg["last"][i] for i in idx),
                                     "orm": statistics.fmean(orm_scores[i] for i in idx)}
                                 for k, idx in sorted(kinds.items())}
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(test):
        groups.setdefault(r["unique_id"], []).append(i)
    scores = {"prm": [s for s, _ in prm], "orm": orm_scores, "majority": [s for s, _ in prm],
              "random": [0.0] * len(test)}
    ns = [n for n in (1, 2, 4, 8, 16, 32, 64, 128) if n <= args.test_samples]

    def curve(sc: list[float], method: str) -> list[dict]:
        samples = [[(sc[i], test[i]["answer"], test[i]["final_answer_correct"]) for i in idx]
                   for idx in groups.values()]
        return best_of_n_curve(samples, ns, args.trials, args.seed, method)

    out["curves"] = {method: curve(sc, method) for method, sc in scores.items()}
    out["prm_by_aggregation"] = {how: curve(sc, "prm") for how, sc in by_agg.items()}
    out["seconds"]["generate"] = round(gen_s, 1)
    out["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    return out


def learnability(args) -> dict:
    """Held-out (by problem) step AUROC of a PRM trained for a fixed number of steps, overall and by slip
    kind (each kind's wrong samples against the right ones). `--base micro` builds a micro BERT on the
    training text; `--digits` keeps numbers out of its vocabulary, so it reads them digit by digit."""
    import torch

    from activelearn.prm import metrics
    from activelearn.prm.micro import build_micro_backbone
    from activelearn.prm.training import TrainConfig
    from activelearn.selection import simulation
    from labeling.demo import sampling

    torch.set_num_threads(args.threads)
    train, test = _split(list(sampling.records(args.problems, args.samples, args.seed, domain=args.domain)))
    if args.alone:
        train, test = _steps_alone(train), _steps_alone(test)
    cfg = simulation.SimConfig(base=args.base, layers=args.layers or None, threads=args.threads,
                               train=TrainConfig(epochs=1000, max_steps=args.steps, learning_rate=args.lr,
                                                 max_length=args.max_length, batch_size=args.batch_size,
                                                 seed=args.seed))
    with tempfile.TemporaryDirectory(prefix="stepwise-learn-") as tmp, simulation.quiet_transformers():
        if args.base == "micro":
            corpus = [t for r in train for t in (r["problem"], *r["steps"])]
            base = str(build_micro_backbone(Path(tmp) / "micro", corpus, "bert", vocab_size=args.vocab,
                                            hidden=args.hidden, layers=args.layers or 4, heads=args.heads,
                                            digits=args.digits, numbers=args.numbers, seed=args.seed))
        else:
            base = simulation.build_backbone(cfg, [], Path(tmp))
        pretrained = None
        if args.pretrain_steps:  # a dense signal first: the backbone as a causal LM on the right solutions' text
            from bench.lm_pretrain import pretrain

            right = [r for r in train if r["label"] == -1]
            base, pretrained = pretrain(base, right, Path(tmp) / "lm", steps=args.pretrain_steps,
                                        batch_size=args.batch_size, lr=args.pretrain_lr or args.lr,
                                        max_length=args.max_length, seed=args.seed,
                                        probe=[r for r in test if r["label"] == -1][:300])
        t, cpu = time.perf_counter(), time.process_time()
        if args.drill_steps:  # equations alone first (bench/arithmetic_drills.py), from the training problems
            import random

            from bench.arithmetic_drills import domain_drills, train_after_drills

            drills = domain_drills(train, random.Random(args.seed))
            model, history = train_after_drills(base, train, drills, args.drill_steps, cfg, Path(tmp))
        else:
            model, history = simulation.train_fresh(base, train, cfg, Path(tmp) / "prm")
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        steps = [s for _, s in model.score([(r["problem"], r["steps"]) for r in test])]
    labels = [r["label"] for r in test]
    out = {"config": vars(args), "solutions": {"train": len(train), "test": len(test)},
           "train_seconds": round(seconds, 1), "steps_per_second": round(history["global_step"] / seconds, 2),
           # the machine is shared: the training's own CPU time over its threads is about what it takes alone
           "train_cpu_seconds": round(cpu, 1), "idle_estimate_seconds": round(cpu / args.threads, 1),
           "load_average": os.getloadavg(), "train_loss": history["train_loss"],
           "step_auroc": metrics.step_auroc(steps, labels), "by_kind": {}}
    if args.drill_steps:
        out["drills"] = {"n": len(drills), "loss": history["drill_loss"]}
    if pretrained:
        out["pretrain"] = pretrained
        out["total_cpu_seconds"] = round(cpu + pretrained["cpu_seconds"], 1)
    for kind in sorted({r["kind"] for r in test if r["kind"]}):
        idx = [i for i, r in enumerate(test) if r["kind"] in (kind, None)]
        out["by_kind"][kind] = metrics.step_auroc([steps[i] for i in idx], [labels[i] for i in idx])
    return out


def _false_equation(step: str, modulus: int | None = None) -> bool:
    """The step states an equation whose sides differ (`modulus`: differ in their last digits, as a check
    of the units, or units and tens, would see; a fraction counts as seen)."""
    from labeling.demo import checker

    for seg in checker._MATH.findall(step.split("# Answer")[0]):
        values = {v for v in map(checker.evaluate, seg.split("=")) if v is not None}
        if len(values) > 1 and (modulus is None or any(v.denominator != 1 for v in values)
                                or len({int(v) % modulus for v in values}) > 1):
            return True
    return False


def _new_operand(before: str, step: str) -> bool:
    """A number on the left of an equation that neither the problem nor an earlier step wrote (what a misread
    looks like; 0, 1, 2 and 100 any solution may bring in)."""
    import re

    from labeling.demo import checker

    seen = set(re.findall(r"\d+", before)) | {"0", "1", "2", "100"}
    for seg in checker._MATH.findall(step.split("# Answer")[0]):
        sides = seg.split("=")
        if len(sides) > 1 and any(n not in seen for side in sides[:-1] for n in re.findall(r"\d+", side)):
            return True
    return False


def ceiling(args) -> dict:
    """What a PRM would score on the demo's steps if it had one skill exactly and guessed elsewhere (no
    training): the shares of first errors by kind and by what shows them, and the step AUROC of each skill."""
    import random
    from collections import Counter

    from activelearn.prm import metrics
    from labeling.demo import sampling

    records = list(sampling.records(args.problems, args.samples, args.seed, domain=args.domain))
    firsts = [(r, r["steps"][r["label"]]) for r in records if r["label"] >= 0]
    shown = Counter()
    for r, step in firsts:
        shown[r["kind"], "false equation" if _false_equation(step) else "a number no correct solution has",
              "units digit differs" if _false_equation(step, 10) else "units digit agrees"] += 1
    skills = {
        "checks every equation": lambda r, k: _false_equation(r["steps"][k]),
        "checks the units digit": lambda r, k: _false_equation(r["steps"][k], 10),
        "checks the units and tens digits": lambda r, k: _false_equation(r["steps"][k], 100),
        "spots a new operand": lambda r, k: _new_operand(" ".join([r["problem"], *r["steps"][:k]]), r["steps"][k]),
    }
    skills["checks every equation and spots a new operand"] = lambda r, k: (
        skills["checks every equation"](r, k) or skills["spots a new operand"](r, k))
    rng = random.Random(args.seed)
    out = {"records": len(records), "first_errors": len(firsts),
           "first_errors_by_kind": Counter(r["kind"] for r, _ in firsts),
           "shown_by": [{"kind": k, "shown_by": s, "units": u, "n": n} for (k, s, u), n in shown.most_common()],
           "step_auroc_with_one_skill": {}}
    for name, has in skills.items():
        scores = [[0.0 if has(r, k) else 1.0 + rng.random() for k in range(len(r["steps"]))] for r in records]
        out["step_auroc_with_one_skill"][name] = metrics.step_auroc(scores, [r["label"] for r in records])
    return out


def _steps_alone(records: list[dict]) -> list[dict]:
    """Every labelled step as a record of its own, without the problem or the steps before it (the probe
    `--alone`): what a model can tell from one step's text, e.g. a false equation, and what it cannot (a
    misread number or a wrong operation, which only the problem shows)."""
    out = []
    for r in records:
        upto = len(r["steps"]) if r["label"] == -1 else r["label"] + 1
        for k in range(upto):
            bad = r["ratings"][k] == -1
            out.append({**r, "problem": "", "steps": [r["steps"][k]], "ratings": [r["ratings"][k]],
                        "label": 0 if bad else -1, "kind": r["kind"] if bad else None})
    return out


def write_best_of_n(result: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    methods = list(result["curves"])
    with open(OUT / "best-of-n.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["n", *methods])
        for k, point in enumerate(result["curves"][methods[0]]):
            w.writerow([point["n"], *(round(result["curves"][m][k]["accuracy"], 4) for m in methods)])
    (OUT / "best-of-n.json").write_text(json.dumps(_safe(result), indent=1) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {"prm": ("tab:red", "o", "PRM (process supervision)"), "orm": ("tab:blue", "s", "ORM (outcome)"),
              "majority": ("tab:green", "^", "majority vote"), "random": ("grey", "x", "random pick")}
    for m in methods:
        color, marker, label = styles[m]
        curve = result["curves"][m]
        ax.plot([p["n"] for p in curve], [p["accuracy"] for p in curve], marker=marker, color=color, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N = solutions per problem")
    ax.set_ylabel("% of held-out problems solved")
    ax.set_title(f"Best-of-N on {result['problems']['test']} held-out demo problems "
                 f"(trained on {result['solutions']['train']} solutions)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "best-of-n.png", dpi=110)
    plt.close(fig)


def _rollout_labels(records: list[dict]) -> dict:
    """What the demo's rollout labeller finds: every first error but a false re-check's (the right answer follows)."""
    from activelearn.selection import simulation

    rows = [{"problem": r["problem"], "steps": r["steps"], "first_error": -1 if r["kind"] == "aside" else r["label"]}
            for r in records]
    return simulation.auto_label_index(rows)


def replay(args) -> dict:
    from activelearn.prm.training import TrainConfig
    from activelearn.selection import simulation
    from labeling.demo import sampling

    records = list(sampling.records(args.problems, args.samples, 0))
    strategies = tuple(args.strategy or simulation.DEFAULT_STRATEGIES)
    runs = {}
    for seed in args.seeds:
        cfg = simulation.SimConfig(
            rounds=args.rounds, per_round=args.per_round, seed_labels=args.seed_labels, strategies=strategies,
            group="problem", per_problem=args.per_problem, seed=seed, holdout=0.2, base=args.base,
            layers=args.layers or None, threads=args.threads,
            auto_labels=_rollout_labels(records) if "disagreement" in strategies else None,
            train=TrainConfig(epochs=args.epochs, learning_rate=args.lr, max_length=256, batch_size=args.batch_size,
                              seed=seed))
        result = simulation.simulate(records, {}, cfg, log=lambda line: sys.stderr.write(line + "\n"))
        result["command"] = "python bench/paper_findings.py " + " ".join(sys.argv[2:])
        OUT.mkdir(parents=True, exist_ok=True)
        prefix = OUT / f"{args.name}-seed{seed}"
        simulation.write_csv(result, f"{prefix}.csv")
        simulation.write_json(result, f"{prefix}.json")
        simulation.plot(result, f"{prefix}.png")
        runs[seed] = result
    summary = summarize(runs, strategies)
    summary.update(records=len(records), problems=args.problems, samples_per_problem=args.samples)
    (OUT / f"{args.name}-summary.json").write_text(json.dumps(_safe(summary), indent=1) + "\n")
    return summary


def summarize(runs: dict, strategies) -> dict:
    """Ratios over seeds (mean, spread) and each strategy's final figures, from the runs' results
    (in memory, or read back from NAME-seedS.json)."""
    from activelearn.selection import simulation

    summary = {"strategies": list(strategies), "seeds": list(runs), "ratios": {}, "final": {}}
    for key in ("efficiency", "efficiency_per_step_label"):
        for ratio in ("ratio", "ratio_at_uniform_final"):
            per_metric: dict[str, list] = {}
            for r in runs.values():
                conv = r["curves"].get("convincing")
                uni = r["curves"].get("uniform")
                if not (conv and uni):
                    continue
                x = "labels" if key == "efficiency" else "step_labels"
                for metric in simulation.METRICS:
                    e = simulation.data_efficiency([(p[x], p["eval"]["holdout"][metric]) for p in conv],
                                                   [(p[x], p["eval"]["holdout"][metric]) for p in uni])
                    per_metric.setdefault(metric, []).append(e)
            summary["ratios"][f"{key}:{ratio}"] = {
                m: {"per_seed": [e[ratio] for e in es], "lower_bound": [e["lower_bound"] for e in es],
                    "mean": _mean([e[ratio] for e in es]), "stdev": _stdev([e[ratio] for e in es])}
                for m, es in per_metric.items()}
    for s in strategies:
        summary["final"][s] = {m: statistics.mean(r["curves"][s][-1]["eval"]["holdout"][m] for r in runs.values())
                               for m in simulation.METRICS}
        summary["final"][s]["labels"] = next(iter(runs.values()))["curves"][s][-1]["labels"]
        summary["final"][s]["step_labels"] = statistics.mean(r["curves"][s][-1]["step_labels"] for r in runs.values())
    summary["seconds"] = {seed: r["timings"]["total_s"] for seed, r in runs.items()}
    return summary


def _mean(values):
    v = [x for x in values if x is not None and not math.isnan(x)]
    return statistics.mean(v) if v else None


def _stdev(values):
    v = [x for x in values if x is not None and not math.isnan(x)]
    return statistics.stdev(v) if len(v) > 1 else 0.0


def _safe(v):
    from activelearn.prm.metrics import json_safe

    return json_safe(v)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    for name in ("best-of-n", "replay"):
        s = sub.add_parser(name)
        s.add_argument("--base", default="default")
        s.add_argument("--layers", type=int, default=2, help="keep the backbone's first N layers (0: all)")
        s.add_argument("--threads", type=int, default=2)
        s.add_argument("--epochs", type=float, default=3.0)
        s.add_argument("--lr", type=float, default=1e-4)
        s.add_argument("--batch-size", type=int, default=16)
    b = sub.choices["best-of-n"]
    b.add_argument("--problems", type=int, default=200)
    b.add_argument("--train-samples", type=int, default=8, help="samples per training problem")
    b.add_argument("--test-samples", type=int, default=64, help="samples per held-out problem (the largest N)")
    b.add_argument("--trials", type=int, default=400)
    b.add_argument("--seed", type=int, default=0)
    r = sub.choices["replay"]
    r.add_argument("--problems", type=int, default=100)
    r.add_argument("--samples", type=int, default=32, help="samples per problem (the paper's N)")
    r.add_argument("--per-problem", type=int, default=2, help="picks per problem and round (the paper's K)")
    r.add_argument("--rounds", type=int, default=4)
    r.add_argument("--per-round", type=int, default=80)
    r.add_argument("--seed-labels", type=int, default=80)
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--strategy", action="append")
    r.add_argument("--name", default="replay", help="output names: docs/findings/NAME-seedS.* and NAME-summary.json")
    lr = sub.add_parser("learnability", help="held-out step AUROC of one PRM, overall and by slip kind")
    lr.add_argument("--base", default="micro", help="micro, default or a backbone directory")
    lr.add_argument("--layers", type=int, default=4)
    lr.add_argument("--hidden", type=int, default=128)
    lr.add_argument("--heads", type=int, default=4)
    lr.add_argument("--vocab", type=int, default=600)
    lr.add_argument("--digits", action="store_true", help="micro: every number read digit by digit")
    lr.add_argument("--numbers", default="as_written", choices=["as_written", "digits", "reversed"],
                    help="micro: numbers written as they are, digit by digit, or digit by digit last digit first")
    lr.add_argument("--name", default="learnability", help="the figures go to docs/findings/NAME.json")
    lr.add_argument("--max-length", type=int, default=384)
    lr.add_argument("--alone", action="store_true",
                    help="a probe: every step read alone (no problem, no earlier steps), scored and held out as such")
    lr.add_argument("--problems", type=int, default=300)
    lr.add_argument("--samples", type=int, default=24)
    lr.add_argument("--steps", type=int, default=1500, help="optimiser steps")
    lr.add_argument("--batch-size", type=int, default=16)
    lr.add_argument("--lr", type=float, default=1e-3)
    lr.add_argument("--threads", type=int, default=2)
    lr.add_argument("--seed", type=int, default=0)
    lr.add_argument("--domain", choices=["full", "small"], default="full", help="small: the small-operand variant")
    lr.add_argument("--pretrain-steps", type=int, default=0,
                    help="micro: first train the backbone this many steps as a causal LM on the right solutions' text")
    lr.add_argument("--drill-steps", type=int, default=0,
                    help="first train on equations alone (bench/arithmetic_drills.py), this many steps of 64")
    lr.add_argument("--pretrain-lr", type=float, default=0.0, help="the LM's learning rate (0: --lr)")
    ce = sub.add_parser("ceiling", help="the step AUROC a PRM with one exact skill would reach (no training)")
    ce.add_argument("--problems", type=int, default=300)
    ce.add_argument("--samples", type=int, default=24)
    ce.add_argument("--seed", type=int, default=0)
    ce.add_argument("--domain", choices=["full", "small"], default="full", help="small: the small-operand variant")
    sm = sub.add_parser("summary", help="the ratios over seeds again, from docs/findings/NAME-seedS.json")
    sm.add_argument("--name", default="replay")
    sm.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args(argv)
    _django()
    if args.what == "best-of-n":
        result = best_of_n(args)
        write_best_of_n(result)
        h = result["prm_heldout"]
        print(f"trained on {result['solutions']['train']} solutions of {result['problems']['train']} problems "
              f"(PRM {result['seconds']['train_prm']} s, ORM {result['seconds']['train_orm']} s); held out: "
              f"{result['solutions']['test']} solutions of {result['problems']['test']} problems")
        print(f"PRM held-out step AUROC {h['step_auroc']:.3f}, F1 {h['f1']:.3f}; final-answer AUROC: PRM "
              f"{result['prm_heldout_auroc_final_answer']:.3f}, ORM {result['orm_heldout_auroc']:.3f}")
        print("N      " + "  ".join(f"{m:>8}" for m in result["curves"]))
        for k, point in enumerate(result["curves"]["prm"]):
            accs = (result["curves"][m][k]["accuracy"] for m in result["curves"])
            print(f"{point['n']:<6} " + "  ".join(f"{a:8.3f}" for a in accs))
        without = result["final_answer_auroc_without_false_rechecks"]
        for how, curve in result["prm_by_aggregation"].items():
            print(f"PRM by {how}: final-answer AUROC {result['prm_final_answer_auroc_by_aggregation'][how]:.3f} "
                  f"({without[f'prm_{how}']:.3f} without false re-checks), "
                  f"best-of-{curve[-1]['n']} {curve[-1]['accuracy']:.3f}")
        print(f"ORM final-answer AUROC without false re-checks {without['orm']:.3f}; mean scores by kind: "
              + "; ".join(f"{k} (n={v['n']}) PRM {v['prm_prod']:.3f} / last {v['prm_last']:.3f}, ORM {v['orm']:.3f}"
                          for k, v in result["mean_score_by_kind"].items()))
        print(f"wrote {OUT}/best-of-n.csv, .json, .png in {result['seconds']['total']} s")
        return 0
    if args.what == "learnability":
        result = learnability(args)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{args.name}.json").write_text(json.dumps(_safe(result), indent=1) + "\n")
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in result["by_kind"].items())
        if "pretrain" in result:
            pre = result["pretrain"]
            print(f"pretrained {pre['steps']} steps as an LM in {pre['seconds']} s (CPU {pre['cpu_seconds']} s), "
                  f"final loss {pre['final_loss']}; held-out result digits {pre['heldout_result_digits']}")
        print(f"trained {result['train_seconds']} s on {result['solutions']['train']} solutions; held-out step AUROC "
              f"{result['step_auroc']:.3f} ({result['solutions']['test']} solutions); by kind: {kinds}")
        return 0
    if args.what == "ceiling":
        result = ceiling(args)
        OUT.mkdir(parents=True, exist_ok=True)
        name = f"learnability-ceiling{'-small' if args.domain == 'small' else ''}-seed{args.seed}.json"
        (OUT / name).write_text(json.dumps(_safe(result), indent=1) + "\n")
        print(f"{result['first_errors']} first errors of {result['records']} samples: "
              f"{dict(result['first_errors_by_kind'])}")
        for row in result["shown_by"]:
            print(f"  {row['n']:5d} {row['kind']}: {row['shown_by']}, {row['units']}")
        for name, v in result["step_auroc_with_one_skill"].items():
            print(f"step AUROC of a PRM that {name} and guesses elsewhere: {v:.3f}")
        return 0
    if args.what == "summary":
        runs = {seed: json.loads((OUT / f"{args.name}-seed{seed}.json").read_text()) for seed in args.seeds}
        summary = summarize(runs, next(iter(runs.values()))["config"]["strategies"])
        (OUT / f"{args.name}-summary.json").write_text(json.dumps(_safe(summary), indent=1) + "\n")
    else:
        summary = replay(args)
    print_summary(summary, args.name)
    return 0


def print_summary(summary: dict, name: str) -> None:
    def fmt(v, lower):
        return "n/a" if v is None else f"{'>' if lower else ''}{v:.2f}x"

    for key, label in (("efficiency", "per labelled solution"), ("efficiency_per_step_label", "per step label")):
        for metric, e in summary["ratios"].get(f"{key}:ratio", {}).items():
            back = summary["ratios"][f"{key}:ratio_at_uniform_final"][metric]
            print(f"convincing vs uniform, {label}, {metric}: uniform needs "
                  f"{', '.join(fmt(v, lb) for v, lb in zip(e['per_seed'], e['lower_bound'], strict=True))} "
                  f"the labels to reach convincing's final score; convincing reaches uniform's final score with "
                  f"1/{', 1/'.join(fmt(v, False) for v in back['per_seed'])} of uniform's labels "
                  f"(mean {fmt(back['mean'], False)} +- {back['stdev']:.2f})")
    for s, f in summary["final"].items():
        print(f"{s}: {f['labels']} labels ({f['step_labels']:.0f} step labels) -> held-out step AUROC "
              f"{f['step_auroc']:.3f}, F1 {f['f1']:.3f}, best-of-N {f['best_of_n']:.3f} (mean over seeds)")
    print(f"wrote {OUT}/{name}-seed*.csv/.json/.png and {name}-summary.json")


if __name__ == "__main__":
    raise SystemExit(main())
