"""The PRM on the demo agent's traces, without a database: the check behind issue 28's "PRM on traces predicts
only +1". The traces and the checker's labels of labeling.demo.agent (60 problems x 4), every fifth problem
held out; the PRM built, trained and read with Stepwise's own code (activelearn.prm: heads.build, fit.encode,
training.train, RewardModel.step_probs), each turn read with its context. Each choice the check is about is an
option: the labels trained on (`--labels path`: up to each trace's first -1, as before 2026-12-06; `every`: every
turn, as label_mix now trains a trace's automatic labels), the learning rate, the micro backbone's vocabulary
(the math demo's text, or the traces'), max_length.

    .venv/bin/python bench/demo_agent_prm.py --labels path --lr 5e-5 --vocab math   # as bench/demo_agent.py was
    .venv/bin/python bench/demo_agent_prm.py --labels every --lr 1e-3 --vocab traces

Prints the held-out step AUROC of P(-1) against the checker's -1 (every turn, and up to the first -1), the F1 of
the -1 class at P(+1) + P(0) < 0.5, and the times. Not a test; report the machine's load with the figures.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", choices=("path", "every"), default="every")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--vocab", choices=("math", "traces"), default="traces")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--problems", type=int, default=60)
    ap.add_argument("--base", help="a backbone directory instead of the micro BERT")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from activelearn.prm import heads, training
    from activelearn.prm.backbone import CLASS_OF_RATING
    from activelearn.prm.fit import encode
    from activelearn.prm.metrics import auroc
    from activelearn.prm.micro import build_micro_backbone
    from activelearn.prm.training import TrainConfig
    from activelearn.prm.training_data import Item
    from activelearn.prm.trajectory_text import with_context
    from labeling.demo import agent
    from labeling.demo.problems import generate
    from labeling.formats import trajectories

    rows = []
    for rec, labels in agent.traces(a.problems, 4, a.seed):
        sol = trajectories.parse_trace(rec).solution
        rows.append((rec["query_index"], rec["question"], with_context(sol.steps, sol.extra["step_context"]), labels))
    train, held = [], [r for r in rows if r[0] % 5 == 0]
    for q, problem, steps, labels in rows:
        if q % 5:
            kept = labels[:labels.index(-1) + 1] if a.labels == "path" and -1 in labels else labels
            train.append(Item(problem, steps[:len(kept)], [CLASS_OF_RATING[v] for v in kept], str(q)))
    tmp = Path(tempfile.mkdtemp(prefix="stepwise-bench-agent-prm-"))
    if a.base:
        base = a.base
    elif a.vocab == "math":  # what bench/demo_agent.py built its micro backbone from before 2026-12-06
        base = str(build_micro_backbone(tmp / "micro", [t for p in generate(40, 4, seed=1) for t in (
            p.text, *(s for sol in p.solutions for s in sol.steps))], "bert"))
    else:  # the traces' text (their labels are not read)
        base = str(build_micro_backbone(tmp / "micro", [t for _, p, steps, _ in rows for t in (p, *steps)], "bert"))
    rm = heads.build(base, heads.model_options_of(None), new_head=True, max_length=a.max_length, seed=a.seed)
    wrong = sum(c == CLASS_OF_RATING[-1] for i in train for c in i.labels)
    print(f"train: {len(train)} traces, {sum(len(i.labels) for i in train)} turns ({wrong} wrong), labels {a.labels}, "
          f"lr {a.lr:g}, vocab {a.vocab if not a.base else a.base}, {a.steps} steps of 8, max_length {a.max_length}")
    t = time.perf_counter()
    history = training.train(rm, encode(rm, train), [], tmp / "work", TrainConfig(
        max_steps=a.steps, batch_size=8, max_length=a.max_length, val_fraction=0.0, learning_rate=a.lr, seed=a.seed))
    print(f"trained in {time.perf_counter() - t:.0f} s, training loss {history['train_loss']:.3f}")
    t = time.perf_counter()
    probs = rm.step_probs([(p, steps) for _, p, steps, _ in held])
    print(f"scored {len(held)} held-out traces in {time.perf_counter() - t:.1f} s")
    p_wrong, is_wrong, p_path, on_path = [], [], [], []
    for (_, _, _, labels), pr in zip(held, probs, strict=True):
        for k, (v, row) in enumerate(zip(labels, pr, strict=True)):
            p_wrong.append(float(row[0]))
            is_wrong.append(v == -1)
            if -1 not in labels[:k]:
                p_path.append(float(row[0]))
                on_path.append(v == -1)
    tp = sum(p > 0.5 and w for p, w in zip(p_wrong, is_wrong, strict=True))
    fp = sum(p > 0.5 and not w for p, w in zip(p_wrong, is_wrong, strict=True))
    fn = sum(p <= 0.5 and w for p, w in zip(p_wrong, is_wrong, strict=True))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    mean = {w: sum(p for p, x in zip(p_wrong, is_wrong, strict=True) if x == w) / max(1, is_wrong.count(w))
            for w in (True, False)}
    print(f"held out: {len(is_wrong)} turns ({sum(is_wrong)} wrong): step AUROC {auroc(p_wrong, is_wrong):.3f} "
          f"(up to the first -1: {auroc(p_path, on_path):.3f} over {len(on_path)}); F1 of -1 at 0.5 {f1:.3f}; "
          f"mean P(-1) on wrong turns {mean[True]:.3f}, on the others {mean[False]:.3f}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
