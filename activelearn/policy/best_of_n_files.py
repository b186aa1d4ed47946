"""A best-of-N result as files beside a prefix (`manage.py evaluate_prm --best-of-n-run --out`): JSON,
CSV (one row per method and N) and a PNG chart."""
import csv
import json
from pathlib import Path

from activelearn.prm.metrics import json_safe


def write(result: dict, prefix: str) -> list[Path]:
    """JSON, CSV (one row per method and N) and a PNG chart beside `prefix`."""
    base = Path(prefix)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.with_suffix(".json"), base.with_suffix(".csv"), base.with_suffix(".png")]
    paths[0].write_text(json.dumps(json_safe(result), indent=1) + "\n")
    with open(paths[1], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "n", "accuracy", "std", "trials"])
        for method, rows in result["curves"].items():
            for row in rows:
                w.writerow([method, row["n"], f"{row['accuracy']:.6f}", f"{row['std']:.6f}", row["trials"]])
    _plot(result, paths[2])
    return paths


def _plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, rows in result["curves"].items():
        ax.plot([r["n"] for r in rows], [100 * r["accuracy"] for r in rows], marker="o", label=method)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N (samples per problem)")
    ax.set_ylabel("% problems solved")
    ax.set_title(f"Best-of-N on {result['problems']} problems ({result['run']})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
