"""Automatic labels against people's on ProcessBench (MATH and GSM8K, ../shared/data): how well each
source a machine like this can run agrees with the benchmark's expert labels.

    .venv/bin/python bench/label_agreement.py                       # here, on CPU (about 10 minutes)
    .venv/bin/python bench/label_agreement.py --base-url http://gpu-1:8000/v1 --model Qwen/Qwen2.5-7B-Instruct

What it does, in a temporary SQLite database:

1. imports PRM800K phase 1 (human labels, ../shared/data/prm800k-phase1) and ProcessBench MATH and
   GSM8K (solutions with their expert labels);
2. trains a PRM (the bundled all-MiniLM-L6-v2, or --base) on phase 1 only, --max-steps steps;
3. labels every ProcessBench solution with the `prm` source at --threshold; the step scores are
   kept, so it also reports the threshold that gives the best F1 on GSM8K applied to MATH (as
   ProcessBench picks a PRM's threshold);
4. labels --cap solutions of each set with the `judge` (ProcessBench's critic prompt) and the
   `first_error` search (k continuations per probe), through `transformers serve` on the micro
   causal model of the tests, or through --base-url: a model that small answers nothing readable,
   and the figures say so (malformed answers are counted, never labels);
5. prints, per run, the pairs, first-error agreement, Cohen's kappa per step, ProcessBench's error
   and correct accuracies and F1, and what it cost (seconds, requests, rollouts).
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


def _setup(tmp: Path):
    os.environ["STEPWISE_VAR_DIR"] = str(tmp / "var")
    os.environ["MODEL_DIR"] = str(tmp / "models")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)


def _label(key: str, source: str, params: dict, ids: list[int], chunk: int = 64) -> dict:
    from activelearn.labellers import runs
    from labeling.models import AutoLabelRun

    run = runs.start_run(key, source, params, {"ids": ids})
    wall = time.monotonic()
    for start in range(0, len(ids), chunk):
        runs.run_chunk(run, run.params["solution_ids"][start:start + chunk])
    wall = time.monotonic() - wall
    run = AutoLabelRun.objects.get(pk=run.pk)
    malformed = run.labels.filter(malformed=True).count()
    return {"solutions": len(ids), "seconds": round(wall, 1), "s_per_solution": round(wall / max(1, len(ids)), 3),
            "requests": run.requests, "rollouts": run.rollouts, "malformed": malformed}


def _f1_at(threshold: float, rows: list[tuple[int, list[float]]]) -> float:
    err_hit = err_n = ok_hit = ok_n = 0
    for human, scores in rows:
        auto = next((i for i, s in enumerate(scores) if s < threshold), -1)
        if human >= 0:
            err_n, err_hit = err_n + 1, err_hit + (auto == human)
        else:
            ok_n, ok_hit = ok_n + 1, ok_hit + (auto == -1)
    a, b = err_hit / max(1, err_n), ok_hit / max(1, ok_n)
    return 2 * a * b / (a + b) if a + b else 0.0


def _scored(key: str) -> list[tuple[int, list[float]]]:
    from labeling.models import LabeledPass, StepLabels

    human = dict(LabeledPass.objects.filter(solution__auto_labels__run__key=key).values_list("solution_id",
                                                                                             "first_error"))
    return [(human[sid], soft) for sid, soft in StepLabels.objects.filter(run__key=key).values_list("solution_id",
                                                                                                    "soft")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="PRM backbone (default: the bundled all-MiniLM-L6-v2)")
    p.add_argument("--max-steps", type=int, default=300)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--cap", type=int, default=12, help="solutions per set for the judge and first-error search")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--base-url", help="an OpenAI-compatible server for the judge and rollouts (default: "
                                      "transformers serve on the tests' micro model, here)")
    p.add_argument("--model", help="the model name that server knows (with --base-url)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stepwise-bench-agree-") as d:
        tmp = Path(d)
        _setup(tmp)
        result = _measure(args, tmp)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"PRM: {result['prm']['trained_on']}, {result['prm']['train_seconds']} s to train")
    print(f"{'run':22} {'pairs':>5} {'1st-err':>7} {'kappa':>6} {'err acc':>7} {'ok acc':>6} {'F1':>5}  cost")
    for key, r in result["runs"].items():
        a = r["agreement"]
        pb = a.get("processbench") or {}

        def f(v):
            return "  n/a" if v is None else f"{v:.3f}"
        print(f"{key:22} {a.get('pairs', 0):>5} {f(a.get('first_error_agreement')):>7} {f(a.get('step_kappa')):>6} "
              f"{f(pb.get('error_accuracy')):>7} {f(pb.get('correct_accuracy')):>6} {f(pb.get('f1')):>5}  "
              f"{r['cost']['s_per_solution']} s/solution, {r['cost']['requests']} requests, "
              f"{r['cost']['rollouts']} rollouts, {r['cost']['malformed']} malformed")
    t = result["threshold"]
    print(f"threshold chosen on GSM8K: {t['chosen']} (F1 {t['gsm8k_f1']:.3f}); on MATH at it: F1 {t['math_f1']:.3f}")
    return 0


def _measure(args, tmp: Path) -> dict:
    from activelearn.policy import connection_writes
    from activelearn.prm import registry
    from activelearn.prm.training import TrainConfig
    from labeling.imports import files as importers
    from labeling.models import LabeledPass, Solution
    from labeling.reports import agreement

    importers.import_prm800k(DATA / "prm800k-phase1" / "phase1_train.stepwise-critic.parquet")
    sets = {}
    for name in ("gsm8k", "math"):
        importers.import_solutions(DATA / "processbench" / f"{name}.json", "processbench")
        sets[name] = list(Solution.objects.filter(source_id__startswith=f"{name}-").order_by("id")
                          .values_list("id", flat=True))
    wall = time.monotonic()
    version = registry.train_version(base=args.base, passes=LabeledPass.objects.filter(solution__isnull=True),
                                     cfg=TrainConfig(max_steps=args.max_steps, batch_size=16, max_length=256,
                                                     val_fraction=0.02, evals_per_epoch=1))
    snap = version.data_snapshot
    out = {"prm": {"trained_on": f"{snap['train_items']} sequences of {snap['passes']} phase-1 passes",
                   "train_seconds": round(time.monotonic() - wall),
                   "validation": version.metrics.get("validation")}, "runs": {}}
    costs = {}
    for name, ids in sets.items():
        costs[f"prm-{name}"] = _label(f"prm-{name}", "prm", {"threshold": args.threshold}, ids)
    server = None
    base_url, model = args.base_url, args.model
    if not base_url:
        sys.path.insert(0, str(REPO / "tests"))
        from policy_server import PolicyServer, build_model

        from labeling.demo.problems import generate

        corpus = [t for pr in generate(20, 4, seed=1)
                  for t in (pr.text, *(s for sol in pr.solutions for s in sol.steps))]
        model_dir = build_model(tmp / "lm", corpus, max_positions=8192)  # ProcessBench prompts are long
        server = PolicyServer(model_dir, tmp / "serve.log").start()
        base_url, model = server.base_url, str(model_dir)
    try:
        connection_writes.create("bench", {"base_url": base_url, "model": model, "max_tokens": 64, "concurrency": 4})
        for name, ids in sets.items():
            few = ids[:args.cap]
            costs[f"judge-{name}"] = _label(f"judge-{name}", "judge", {"attempts": 1, "connection": "bench"}, few)
            costs[f"first_error-{name}"] = _label(f"first_error-{name}", "first_error",
                                                  {"k": args.k, "connection": "bench"}, few)
    finally:
        if server:
            server.kill()
        from activelearn.grading import worker_pool

        worker_pool.shutdown_workers()
    figures = agreement.against_people()
    for key, cost in costs.items():
        out["runs"][key] = {"agreement": figures.get(key, {}), "cost": cost}
    gsm, math_rows = _scored("prm-gsm8k"), _scored("prm-math")
    grid = [round(x / 100, 2) for x in range(1, 100)]
    best = max(grid, key=lambda t: _f1_at(t, gsm))
    out["threshold"] = {"chosen": best, "gsm8k_f1": _f1_at(best, gsm), "math_f1": _f1_at(best, math_rows)}
    return out


if __name__ == "__main__":
    sys.exit(main())
