"""The demo agent domain end to end, with figures (issue 28, item 7): generate the calculator agent's traces and
the checker's label of every turn, import them into a project (queued), train a PRM on the checker's labels
(a micro backbone built here, or --base DIR), and validate it on held-out problems' traces against the checker.

    .venv/bin/python bench/demo_agent.py                      # 60 problems x 4 samples, 200 training steps
    .venv/bin/python bench/demo_agent.py --problems 20 --steps 50   # quick run

Prints figures; it is not a test. Runs in a throw-away SQLite database (a temporary file); nothing is
contacted. Validation: the PRM's step score (P(+1) + P(0)) below 0.5 read as a -1, against the checker's
labels of the held-out traces: accuracy per turn, F1 of the -1 class, and the first-wrong-turn agreement.
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
    ap.add_argument("--problems", type=int, default=60)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--steps", type=int, default=200, help="training steps")
    ap.add_argument("--base", help="a backbone directory (default: a micro BERT built from the demo's text)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="stepwise-bench-agent-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'db.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.MODEL_DIR = str(tmp / "models")
    call_command("migrate", verbosity=0)
    from activelearn.models import SolutionScore
    from activelearn.prm import registry
    from activelearn.prm.label_mix import LabelMix
    from activelearn.prm.micro import build_micro_backbone
    from activelearn.prm.scoring import score_solutions
    from activelearn.prm.training import TrainConfig
    from labeling.demo import agent
    from labeling.demo.agent_seed import RUN_KEY, seed_agent_project
    from labeling.demo.problems import generate
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
    base = args.base or str(build_micro_backbone(
        tmp / "micro", [t for p in generate(40, 4, seed=1) for t in (p.text, *(s for sol in p.solutions
                                                                          for s in sol.steps))], "bert"))
    t = time.perf_counter()
    version = registry.train_version(base=base, cfg=TrainConfig(max_steps=args.steps, batch_size=8, max_length=384,
                                                                val_fraction=0.0),
                                     passes=LabeledPass.objects.none(), labels=LabelMix("sources", {"imported": 1}),
                                     project=project.pk)
    print(f"trained on {len(train_ids)} traces' checker labels, {args.steps} steps, in "
          f"{time.perf_counter() - t:.1f} s: {version.status}")
    StepLabels.objects.filter(run__key=RUN_KEY).update(malformed=False)
    val = Solution.objects.filter(project=project, problem_id__in=held)
    t = time.perf_counter()
    score_solutions(version, val)
    print(f"scored {val.count()} held-out traces in {time.perf_counter() - t:.2f} s")
    tp = fp = fn = right = total = same_first = 0
    for s in val:
        scores = SolutionScore.objects.get(solution=s, model_version=version).step_scores
        truth = StepLabels.objects.get(run__key=RUN_KEY, solution=s).hard
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
    print(f"validation on {val.count()} traces, {total} turns: accuracy {right / total:.3f}, F1 of -1 {f1:.3f}, "
          f"first wrong turn agreed {same_first} of {val.count()}")


if __name__ == "__main__":
    main()
