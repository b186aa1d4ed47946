"""The demo agent domain end to end, with figures (issue 28, item 7).

By hand (the default): generate the calculator agent's traces and the checker's label of every turn, import
them into a project (queued), train a PRM on the checker's labels (a micro backbone built here, or --base DIR),
and validate it on held-out problems' traces against the checker.

    .venv/bin/python bench/demo_agent.py                      # 60 problems x 4 samples, 200 training steps
    .venv/bin/python bench/demo_agent.py --problems 20 --steps 50   # quick run

`--round`: what `seed_demo` makes (demo-agent: 20 problems x 4 samples), then one round on it with the
project's defaults (activelearn.rounds.config.with_defaults; `--set key=value` changes an option) run in this
process (Celery eager): generation by the demo policy (the agent's traces), the checker's labels of the fresh
traces, training, scoring, grading, selection, queueing and best-of-N, each stage's figures printed.

    .venv/bin/python bench/demo_agent.py --round [--set base_model=...]

`--diagnose`: no training; what a PRM is given of the traces: the checker's labels over every turn and up to
each trace's first -1, and with the default backbone's tokenizer each trace's length and, at `--max-length`,
how many traces are cut and how much of the wrong turns' own text the cut leaves.

    .venv/bin/python bench/demo_agent.py --diagnose --max-length 384

Prints figures; it is not a test. Runs in a throw-away SQLite database (a temporary file); nothing is
contacted. Validation by hand: per held-out turn the PRM's P(-1) against the checker's -1 (step AUROC, over
every turn and over the turns up to the first -1), and the step score (P(+1) + P(0)) below 0.5 read as a -1:
accuracy per turn, F1 of the -1 class, and the first-wrong-turn agreement. Report the machine's load with
the figures: the machine is shared.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _setup(tmp: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'db.sqlite3'}"
    os.environ["STEPWISE_VAR_DIR"] = str(tmp / "var")
    os.environ["MODEL_DIR"] = str(tmp / "models")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_round(args) -> None:
    """seed_demo's demo-agent project, then one round with its defaults; every stage's figures."""
    from activelearn.models import GeneratedSample
    from activelearn.rounds import lifecycle
    from activelearn.rounds.config import OPTIONS, from_text, with_defaults
    from config.celery import app
    from labeling.demo.agent_seed import seed_agent_project
    from labeling.models import QueueEntry, Solution

    t = time.perf_counter()
    project, stats = seed_agent_project(args.problems, args.samples, args.seed, logins=[])
    print(f"seeded demo-agent in {time.perf_counter() - t:.1f} s: {stats.summary()}")
    known = {o.name: o for o in OPTIONS}
    config = with_defaults({k: from_text(known[k], v) for k, v in (x.split("=", 1) for x in args.set)}, project.pk)
    print("round options (the project's defaults, then --set): " + ", ".join(
        f"{k}={config[k]}" for k in ("generate_with", "samples_per_problem", "train_labels", "label_weights",
                                     "epochs", "max_length", "base_model", "strategy", "per_problem") if k in config))
    app.conf.task_always_eager = True
    t0 = time.perf_counter()
    r = lifecycle.start_round(config, project=project)
    r.refresh_from_db()
    total = time.perf_counter() - t0
    print(f"round {r.generation}: {r.status} in {total:.1f} s {r.error}")
    st = r.stages
    g = st["generate"]
    fresh = Solution.objects.filter(id__in=GeneratedSample.objects.filter(run__round=r, outcome="kept")
                                    .values("solution_id"))
    wrong = fresh.filter(answer_is_correct=False).count()
    print(f"generate: {g.get('done')} samples of {g.get('problems')} problems in {g.get('seconds')} s, outcomes "
          f"{g.get('outcomes')}; {fresh.count()} new traces, {wrong} with a wrong final answer (numeric checker)")
    print(f"auto-label (the agent checker, every turn of the new traces): {g.get('auto_labels')}")
    v = r.model_version
    snap = v.data_snapshot if v else {}
    print(f"train: {st['train'].get('seconds')} s, {snap.get('train_items')} traces trained on, "
          f"{snap.get('val_items')} held out ({snap.get('automatic_items')}), backbone {v.base_model if v else None}")
    val = (r.metrics or {}).get("validation", {})
    print("validation: " + ", ".join(f"{k} {val[k]}" for k in (
        "source", "problems", "solutions", "step_auroc", "f1", "threshold", "final_answer_auroc", "aggregation")
        if k in val) + f" ({val.get('note')})")
    print(f"score: {st['score'].get('done')} traces in {st['score'].get('seconds')} s; grade: {st['grade']}")
    sel = st["select"]
    print(f"select: {sel.get('selected')} of {sel.get('candidates')} candidates, buckets {sel.get('buckets')}, "
          f"{sel.get('wrong_selected')} with a wrong final answer, in {sel.get('seconds')} s")
    print(f"queue: {st['queue'].get('queued')} queued ({QueueEntry.objects.filter(generation=r.generation).count()} "
          f"entries of this round) in {st['queue'].get('seconds')} s")
    print(f"best-of-N: {(r.metrics or {}).get('best_of_n')}")
    print(f"load average at the end: {os.getloadavg()}")


def diagnose(args) -> None:
    """Labels and truncation of the demo agent's traces as the PRM reads them (issue 28's PRM-on-traces check)."""
    from collections import Counter

    from activelearn.prm import encoding
    from activelearn.prm.backbone import STEP_TOKEN, default_base_model, load_tokenizer
    from activelearn.prm.text import normalize
    from activelearn.prm.trajectory_text import with_context
    from labeling.demo import agent
    from labeling.formats import trajectories

    pairs = agent.traces(args.problems, args.samples, args.seed)
    every, path = Counter(), Counter()
    items, turns = [], []
    for rec, labels in pairs:
        every.update(labels)
        path.update(labels[:labels.index(-1) + 1] if -1 in labels else labels)
        sol = trajectories.parse_trace(rec).solution
        items.append((rec["question"], with_context(sol.steps, sol.extra["step_context"])))
        turns.append((sol.steps, labels))
    print(f"{len(pairs)} traces; the checker's labels over every turn {dict(every)}, up to each trace's first -1 "
          f"{dict(path)}")
    tok = load_tokenizer(default_base_model())
    tok.add_special_tokens({"additional_special_tokens": [STEP_TOKEN]})

    def n(text: str) -> int:
        return len(tok(normalize(text), add_special_tokens=False)["input_ids"])

    lengths = sorted(1 + sum(n(t) + 1 for t in steps) + n(problem) for problem, steps in items)
    print(f"tokens per trace (all-MiniLM-L6-v2's tokenizer, step tokens included): median "
          f"{lengths[len(lengths) // 2]}, max {lengths[-1]}")
    cut = Counter()
    for (problem, steps), (own, labels) in zip(items, turns, strict=True):
        pieces = [n(problem)] + [n(t) for t in steps]
        budget = args.max_length - 1 - len(steps)  # less the first token and a step token each (encoding.encode)
        cap = encoding._cap(pieces, budget) if sum(pieces) > budget else max(pieces)
        for k, t in enumerate(own):
            # a piece keeps its start: the turn's context, then the turn's own text
            left = max(0, min(n(t), cap - (pieces[k + 1] - n(t))))
            if labels[k] == -1:
                cut["whole" if left >= n(t) else "part" if left else "none"] += 1
    over = sum(x > args.max_length for x in lengths)
    print(f"at max_length {args.max_length}: {over} traces cut; the wrong turns' own text kept {dict(cut)} "
          "(the encoder keeps each piece's start: a turn's context, then the turn)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=int, default=None, help="60 by hand, 20 (seed_demo's) with --round")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--steps", type=int, default=200, help="training steps")
    ap.add_argument("--lr", type=float, default=None, help="learning rate (1e-3 for the micro backbone, whose "
                    "weights are random; 5e-5 for --base)")
    ap.add_argument("--max-length", type=int, default=512, help="tokens per trace (every demo trace fits 512)")
    ap.add_argument("--base", help="a backbone directory (default: a micro BERT built from the demo's text)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--round", action="store_true", help="one round with the project's defaults")
    ap.add_argument("--diagnose", action="store_true", help="labels and truncation only, no training")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a round option (--round)")
    args = ap.parse_args()
    args.problems = args.problems or (20 if args.round else 60)
    if args.diagnose:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        return diagnose(args)
    tmp = Path(tempfile.mkdtemp(prefix="stepwise-bench-agent-"))
    _setup(tmp)
    if args.round:
        return run_round(args)
    by_hand(args, tmp)


def by_hand(args, tmp: Path) -> None:
    from django.conf import settings

    settings.MODEL_DIR = str(tmp / "models")
    from activelearn.models import SolutionScore
    from activelearn.prm import registry
    from activelearn.prm.label_mix import LabelMix
    from activelearn.prm.metrics import auroc
    from activelearn.prm.micro import build_micro_backbone
    from activelearn.prm.scoring import score_solutions
    from activelearn.prm.training import TrainConfig
    from labeling.demo import agent
    from labeling.demo.agent_seed import RUN_KEY, seed_agent_project
    from labeling.models import LabeledPass, QueueEntry, Solution, StepLabels

    t = time.perf_counter()
    pairs = agent.traces(args.problems, args.samples, args.seed)
    gen_s = time.perf_counter() - t
    kinds = {}
    for rec, _ in pairs:
        kinds[rec["meta"]["error"] or "sound"] = kinds.get(rec["meta"]["error"] or "sound", 0) + 1
    agree = sum(next((i for i, v in enumerate(lab) if v == -1), None) == rec["meta"]["first_error"]
                for rec, lab in pairs)
    print(f"generated {len(pairs)} traces of {args.problems} problems in {gen_s:.2f} s (checker included): {kinds}")
    print(f"checker's first wrong turn = the generator's: {agree} of {len(pairs)}")
    t = time.perf_counter()
    project, stats = seed_agent_project(args.problems, args.samples, args.seed, logins=[])
    print(f"imported in {time.perf_counter() - t:.2f} s: {stats.summary()}; queued "
          f"{QueueEntry.objects.filter(solution__project=project).count()}")
    problems = sorted(set(Solution.objects.filter(project=project).values_list("problem_id", flat=True)))
    held = set(problems[::5])  # every fifth problem held out
    train_ids = list(StepLabels.objects.filter(run__key=RUN_KEY).exclude(solution__problem_id__in=held)
                     .values_list("id", flat=True))
    StepLabels.objects.filter(run__key=RUN_KEY, solution__problem_id__in=held).update(malformed=True)  # unseen
    # the micro backbone's vocabulary from other traces of the demo agent (seed + 1): what it will read
    corpus = [t for rec, _ in agent.traces(40, 4, args.seed + 1) for m in rec["messages"]
              for t in (m.get("content") or "", *(c["function"]["arguments"] for c in m.get("tool_calls") or []))]
    corpus += ["[system] [user] [tool · calculator] **Tool call** `calculator`"] * 50  # how turns and context read
    base = args.base or str(build_micro_backbone(tmp / "micro", corpus, "bert"))
    lr = args.lr or (5e-5 if args.base else 1e-3)
    t = time.perf_counter()
    version = registry.train_version(base=base, cfg=TrainConfig(max_steps=args.steps, batch_size=8,
                                                                max_length=args.max_length, val_fraction=0.0,
                                                                learning_rate=lr, seed=args.seed),
                                     passes=LabeledPass.objects.none(), labels=LabelMix("sources", {"imported": 1}),
                                     project=project.pk)
    print(f"trained on {len(train_ids)} traces' checker labels ({version.data_snapshot}), {args.steps} steps of 8 "
          f"at lr {lr:g}, max_length {args.max_length}, in {time.perf_counter() - t:.1f} s: {version.status}")
    StepLabels.objects.filter(run__key=RUN_KEY).update(malformed=False)
    val = Solution.objects.filter(project=project, problem_id__in=held)
    t = time.perf_counter()
    score_solutions(version, val)
    print(f"scored {val.count()} held-out traces in {time.perf_counter() - t:.2f} s")
    tp = fp = fn = right = total = same_first = 0
    p_wrong, is_wrong, p_path, on_path = [], [], [], []
    for s in val:
        scores = SolutionScore.objects.get(solution=s, model_version=version).step_scores
        truth = StepLabels.objects.get(run__key=RUN_KEY, solution=s).hard
        for k, (p, h) in enumerate(zip(scores, truth, strict=False)):
            p_wrong.append(1 - p)  # P(-1): the step score is P(+1) + P(0)
            is_wrong.append(h == -1)
            if -1 not in truth[:k]:  # up to the first -1
                p_path.append(1 - p)
                on_path.append(h == -1)
        pred = [-1 if p < 0.5 else 1 for p in scores]
        for p, h in zip(pred, truth, strict=False):
            total += 1
            right += (p == -1) == (h == -1)
            tp += p == -1 and h == -1
            fp += p == -1 and h != -1
            fn += p != -1 and h == -1
        first = [next((i for i, v in enumerate(x) if v == -1), None) for x in (pred, truth)]
        same_first += first[0] == first[1]
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    print(f"validation on {val.count()} traces, {total} turns ({sum(is_wrong)} wrong): step AUROC "
          f"{auroc(p_wrong, is_wrong):.3f} "
          f"(up to the first -1: {auroc(p_path, on_path):.3f} over {len(on_path)} turns); at 0.5: accuracy "
          f"{right / total:.3f}, F1 of -1 {f1:.3f}, first wrong turn agreed {same_first} of {val.count()}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
