"""First-error search against per-step rollouts on the same solutions: rollouts saved, and how often
the two (and each against the known truth) name the same first error.

    .venv/bin/python bench/first_error_search.py [--solutions 400] [--k 8]

On the built-in demo generator, where every solution carries its first wrong step, with the demo
completer (continuations that slip 15% of the time from a clean prefix, never recover from a
wrong one), through the same labellers a run uses (activelearn.labellers.methods). In memory on a
temporary SQLite database; no server.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--solutions", type=int, default=400)
    p.add_argument("--k", type=int, default=8)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stepwise-bench-fes-") as d:
        os.environ["STEPWISE_VAR_DIR"] = str(Path(d) / "var")
        os.environ.pop("DATABASE_URL", None)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--no-input", verbosity=0)
        from activelearn.grading import worker_pool
        from activelearn.labellers import methods
        from activelearn.labellers.completers import DemoCompleter
        from labeling.demo.seed import seed_problems
        from labeling.models import Solution

        seed_problems(n_problems=max(1, args.solutions // 4), n_solutions=4)
        sols = list(Solution.objects.filter(generator="stepwise-demo", is_screening=False)
                    .select_related("problem").order_by("id")[:args.solutions])
        completer = DemoCompleter("bench")
        per_step = search = agree = rollout_true = search_true = wrong = 0
        t_roll = t_search = 0.0
        for s in sols:
            truth = s.extra.get("demo_first_error")
            truth = -1 if truth is None else truth
            t0 = time.perf_counter()
            a = methods.rollouts(s, completer, args.k)
            t1 = time.perf_counter()
            b = methods.first_error_search(s, completer, args.k)
            t_roll, t_search = t_roll + t1 - t0, t_search + time.perf_counter() - t1
            per_step, search = per_step + a.rollouts, search + b.rollouts
            agree += a.first_error == b.first_error
            rollout_true, search_true = rollout_true + (a.first_error == truth), search_true + (b.first_error == truth)
            wrong += truth >= 0
        worker_pool.shutdown_workers()
    n = len(sols)
    print(f"{n} demo solutions ({wrong} with a first error), k = {args.k}")
    print(f"  rollouts: per step {per_step}, first-error search {search}: {100 * (1 - search / per_step):.1f}% "
          f"saved ({per_step / max(1, search):.1f}x fewer)")
    print(f"  same first error: {agree}/{n} = {agree / n:.3f}; against the truth: rollouts {rollout_true / n:.3f}, "
          f"search {search_true / n:.3f}")
    print(f"  labeller time (grading included): rollouts {t_roll:.1f} s, search {t_search:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
