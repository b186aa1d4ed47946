"""The paper's order (PRM > ORM > majority > random) as the app measures it (issue 26, item 5).

    .venv/bin/python bench/paper_order.py                          # seeds 0 1 2, all 60 problems, N = 64
    .venv/bin/python bench/paper_order.py --seeds 0 --problems 6   # a quick look

Each seed runs in a process of its own, in a temporary SQLite database (as bench/quickstart_round.py): migrate,
the demo problems as `seed_demo` stores them, then one round through the app's own path
(activelearn.rounds.lifecycle.start_round, Celery eager) with the project's defaults and: samples_per_problem=64,
problem_cap=--problems (the demo policy samples 64 per problem), orm=train (an ORM trained beside the PRM on the
same labelled solutions), seed=the seed. The round ends with its best-of-N (its best_of_n stage, computed by
activelearn/policy/best_of_n_runs.py): PRM, ORM, majority vote and random pick at N = 1, 2, 4 ... 64. This
script reads what the round recorded.

Writes docs/findings/paper-order.json, paper-order.md (the table) and paper-order.png (the chart), and prints.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
OUT = REPO / "docs" / "findings"
METHODS = ("prm", "orm", "majority", "random")


def one_seed(seed: int, problems: int, samples: int, trials: int, extra: dict) -> dict:
    from quickstart_round import _setup, demo_round, typed

    with tempfile.TemporaryDirectory(prefix="stepwise-paper-order-") as tmp:
        _setup(Path(tmp))
        from activelearn.rounds.progress import best_of_n_of

        given = {"samples_per_problem": samples, "problem_cap": problems, "orm": "train", "seed": seed,
                 "best_of_n_trials": trials, **typed(extra)}
        r, seconds, d = demo_round(given)
        ev = best_of_n_of(r)
        val = (r.model_version.metrics or {}).get("validation", {}) if r.model_version else {}
        return {"seed": seed, "status": r.status, "error": r.error, "seconds": round(seconds, 1),
                "stages": {s["name"]: s["seconds"] for s in d["stages"]}, "config": r.config,
                "best_of_n": ev.result if ev else None,
                "prm_validation": {k: v for k, v in val.items() if not isinstance(v, dict)},
                "load_average": [round(x, 1) for x in os.getloadavg()]}


def table(runs: list[dict]) -> tuple[str, dict]:
    def at_largest(run, m):
        curve = run["best_of_n"]["curves"].get(m) if run.get("best_of_n") else None
        return curve[-1]["accuracy"] if curve else None

    def f(v):
        return "n/a" if v is None else f"{100 * v:.1f}"

    rows = ["| seed | N | problems | PRM | ORM | majority | random | order | PRM step AUROC (validation) | "
            "round time |", "|---|---|---|---|---|---|---|---|---|---|"]
    mean = {}
    for run in runs:
        acc = {m: at_largest(run, m) for m in METHODS}
        bon = run.get("best_of_n") or {}
        n = bon.get("ns", [None])[-1]
        order = _order(acc)
        auroc = run["prm_validation"].get("step_auroc")
        rows.append(f"| {run['seed']} | {n} | {bon.get('problems')} | " + " | ".join(f(acc[m]) for m in METHODS)
                    + f" | {order} | {'n/a' if auroc is None else f'{auroc:.3f}'} | {run['seconds']:.0f} s |")
    done = [r for r in runs if r.get("best_of_n")]
    for m in METHODS:
        vals = [at_largest(r, m) for r in done if at_largest(r, m) is not None]
        mean[m] = statistics.fmean(vals) if vals else None
    order = _order(mean)
    rows.append(f"| mean of {len(done)} | | | " + " | ".join(f"**{f(mean[m])}**" for m in METHODS)
                + f" | **{order}** | | |")
    return "\n".join(rows) + "\n", {"accuracy": mean, "order": order}


def _order(acc: dict) -> str:
    """Best first; equal accuracies (a tie, common with few problems) joined by '='."""
    ranked = sorted((m for m in METHODS if acc[m] is not None), key=lambda m: -acc[m])
    out = ""
    for i, m in enumerate(ranked):
        if i:
            out += " = " if abs(acc[m] - acc[ranked[i - 1]]) < 1e-9 else " > "
        out += m.upper() if m in ("prm", "orm") else m
    return out


def chart(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"prm": ("tab:red", "o", "PRM"), "orm": ("tab:blue", "s", "ORM"),
              "majority": ("tab:green", "^", "majority vote"), "random": ("grey", "x", "random pick")}
    done = [r for r in runs if r.get("best_of_n")]
    fig, ax = plt.subplots(figsize=(6, 4))
    for m, (color, marker, label) in styles.items():
        curves = [r["best_of_n"]["curves"][m] for r in done if m in r["best_of_n"]["curves"]]
        if not curves:
            continue
        ns = [p["n"] for p in curves[0]]
        for c in curves:
            ax.plot(ns, [p["accuracy"] for p in c], color=color, alpha=0.25, linewidth=0.8)
        ax.plot(ns, [statistics.fmean(c[k]["accuracy"] for c in curves) for k in range(len(ns))], color=color,
                marker=marker, label=f"{label} (mean of {len(curves)})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N = samples per problem")
    ax.set_ylabel("share of problems solved")
    problems = done[0]["best_of_n"]["problems"] if done else "?"
    ax.set_title(f"In-app best-of-N on the demo domain ({problems} problems, seeds "
                 f"{', '.join(str(r['seed']) for r in done)})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--problems", type=int, default=60, help="problems the round generates for (problem_cap; "
                   "the demo has 60)")
    p.add_argument("--samples", type=int, default=64, help="samples per problem: the largest N")
    p.add_argument("--trials", type=int, default=200, help="random subsets per N (best_of_n_trials)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="another round option")
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # one seed, in this process
    args = p.parse_args(argv)
    extra = dict(s.split("=", 1) for s in args.set)
    if args.one is not None:
        run = json.dumps(one_seed(args.one, args.problems, args.samples, args.trials, extra), default=str)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"paper-order-seed{args.one}.json").write_text(run + "\n")  # kept if the table's code fails
        print(run)
        return 0
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    runs = []
    OUT.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        cmd = [sys.executable, __file__, "--one", str(seed), "--problems", str(args.problems), "--samples",
               str(args.samples), "--trials", str(args.trials), *(x for s in args.set for x in ("--set", s))]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            return proc.returncode
        run = json.loads(proc.stdout.strip().splitlines()[-1])
        runs.append(run)
        text, mean = table(runs)
        result = {"date": started, "command": "python bench/paper_order.py " + " ".join(sys.argv[1:]),
                  "machine": f"{os.cpu_count()} cores, load {run['load_average'][0]} at the end of seed {seed}",
                  "mean": mean, "runs": runs}
        (OUT / "paper-order.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
        (OUT / "paper-order.md").write_text(text)
        chart(runs, OUT / "paper-order.png")
        print(f"seed {seed}: {run['status']} in {run['seconds']} s", flush=True)
    print(text)
    print(f"wrote {OUT}/paper-order.json, .md, .png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
