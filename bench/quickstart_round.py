"""The quickstart round, measured (issue 26, item 6): what a new user gets from `/rounds/` with the form's
defaults, which is what `start_round --wait` runs with no options.

    .venv/bin/python bench/quickstart_round.py [--set key=value ...] [--json]

In a temporary SQLite database: migrate, the demo problems as `seed_demo` stores them, then one round with
the project's defaults (activelearn.rounds.config.with_defaults: generation with the demo policy) run in
this process (Celery eager: one process does what the quickstart's worker of concurrency 2 does). Prints
each stage's time, the new version's recorded validation (its step AUROC is the target: >= 0.90), how much
of the pool it selected (target: at most half) and how much of that has a wrong final answer (target: at
least 60%), the whole round's time (target: 3 minutes) and best-of-N at the largest N. `--set` changes an
option (`--set epochs=6`), to try what would meet the targets. Report the machine load with the figures:
the machine is shared.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _setup(tmp: Path) -> None:
    os.environ["STEPWISE_VAR_DIR"] = str(tmp / "var")
    os.environ["MODEL_DIR"] = str(tmp / "models")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)


def typed(overrides: dict) -> dict:
    """Round options given as text (`--set KEY=VALUE`), typed as `start_round` types them."""
    from activelearn.rounds.config import OPTIONS, from_text

    known = {o.name: o for o in OPTIONS}
    return {k: from_text(known[k], v) for k, v in overrides.items()}


def demo_round(given: dict):
    """The demo project as seed_demo stores it, then one round of the page's defaults plus `given` (typed
    values), run in this process through the app's own path (Celery eager). Returns the round, its seconds
    and its detail as the page shows it."""
    from activelearn.rounds import lifecycle
    from activelearn.rounds.config import with_defaults
    from activelearn.rounds.progress import round_detail
    from config.celery import app
    from labeling.demo.seed import seed_problems
    from labeling.models import DEFAULT_PROJECT_ID

    seed_problems()
    config = with_defaults(given, DEFAULT_PROJECT_ID)
    app.conf.task_always_eager = True
    t0 = time.monotonic()
    r = lifecycle.start_round(config)
    r.refresh_from_db()
    return r, time.monotonic() - t0, round_detail(r)


def measure(overrides: dict) -> dict:
    r, seconds, d = demo_round(typed(overrides))
    sel = d["selection"]
    pool = d["stages"][5]["result"].get("candidates")
    val = r.model_version.metrics.get("validation", {}) if r.model_version else {}
    return {"status": r.status, "error": r.error, "seconds": round(seconds, 1), "config": r.config,
            "stages": {s["name"]: s["seconds"] for s in d["stages"]},
            "pool": pool, "selected": sel["selected"], "wrong_selected": sel["wrong_answer"],
            "selected_share_of_pool": sel["selected"] / pool if pool else None,
            "wrong_share_of_selected": sel["wrong_answer"] / sel["selected"] if sel["selected"] else None,
            "validation": {k: v for k, v in val.items() if not isinstance(v, dict)},
            "best_of_n": (r.metrics or {}).get("best_of_n"), "aggregation": d["aggregation"],
            "load_average": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a round option")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    overrides = dict(s.split("=", 1) for s in a.set)
    with tempfile.TemporaryDirectory(prefix="stepwise-quickstart-") as tmp:
        _setup(Path(tmp))
        out = measure(overrides)
    if a.json:
        print(json.dumps(out, indent=1, default=str))
        return
    v = out["validation"]
    print(f"round {out['status']} in {out['seconds']} s (target 180 s); load average {out['load_average']}")
    print("stages: " + ", ".join(f"{k} {s:.1f} s" for k, s in out["stages"].items() if s is not None))
    print(f"validation ({v.get('note')}): step AUROC {v.get('step_auroc')} over {v.get('n_steps')} steps "
          f"(target 0.90); F1 {v.get('f1')} at {v.get('threshold')}; final-answer AUROC {v.get('final_answer_auroc')} "
          f"({v.get('aggregation')})")
    print(f"selected {out['selected']} of a pool of {out['pool']} ({out['selected_share_of_pool']:.2f}, "
          f"target <= 0.5), {out['wrong_selected']} wrong answers ({out['wrong_share_of_selected']:.2f}, "
          "target >= 0.6)")
    print(f"best-of-N at the largest N: {out['best_of_n']}")
    if out["error"]:
        print(f"error: {out['error']}")


if __name__ == "__main__":
    main()
