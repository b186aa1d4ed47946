import os
import shlex
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from activelearn.prm.records import read_records
from activelearn.prm.training import TrainConfig
from activelearn.selection import simulation


class Command(BaseCommand):
    help = ("Simulated annotators: replay existing human step labels round by round (convincing wrong answers vs "
            "uniform), retraining between rounds, and write the learning curve (CSV, PNG, JSON).")

    def add_arguments(self, parser):
        parser.add_argument("--oracle", nargs="+", required=True, metavar="FILE",
                            help="ProcessBench-shaped files whose human labels are revealed as rounds pick them.")
        parser.add_argument("--eval", nargs="*", default=[], metavar="FILE",
                            help="ProcessBench files to evaluate on; the threshold is chosen on the first.")
        parser.add_argument("--holdout", type=float, default=0.0, metavar="FRACTION",
                            help="Also move this fraction of the oracle's problems (by problem text) to an "
                                 "evaluation set named 'holdout'.")
        parser.add_argument("--rounds", type=int, default=6)
        parser.add_argument("--per-round", type=int, default=50, metavar="K")
        parser.add_argument("--seed-labels", type=int, metavar="N", help="Random labels before round 1 (default K).")
        parser.add_argument("--strategy", action="append", choices=simulation.SIM_STRATEGIES,
                            help="Repeat for several (default: convincing and uniform). disagreement needs "
                                 "--auto-labels.")
        parser.add_argument("--auto-labels", nargs="*", default=[], metavar="FILE",
                            help="Automatic labels of the pool's solutions for the disagreement strategy: "
                                 "export_step_labels output (steps or processbench format), matched by problem "
                                 "and steps.")
        parser.add_argument("--group", default="round", choices=simulation.GROUPINGS,
                            help="Convincing quotas per round (the 80/20 mix over the whole pool) or per problem "
                                 "(degenerate with one solution per problem: top-K wrong answers).")
        parser.add_argument("--per-problem", type=int, default=1, metavar="K",
                            help="With --group problem: picks per problem and round (the paper's top K of N).")
        parser.add_argument("--wrong-fraction", type=float, default=0.8)
        parser.add_argument("--base", default="default",
                            help="'default' (the project's default backbone, all-MiniLM-L6-v2), 'micro' (a tiny "
                                 "BERT built here on the oracle pool's text) or a backbone directory.")
        parser.add_argument("--layers", type=int, default=2,
                            help="Micro: its depth. A pretrained base: keep only its first N layers (0: all).")
        parser.add_argument("--hidden", type=int, default=64, help="Micro backbone width.")
        parser.add_argument("--heads", type=int, default=2, help="Micro backbone attention heads.")
        parser.add_argument("--vocab-size", type=int, default=2000, help="Micro backbone vocabulary.")
        parser.add_argument("--threads", type=int, default=1,
                            help="torch CPU threads (0: torch's default). One is much faster on a shared CPU.")
        parser.add_argument("--epochs", type=float, default=3.0)
        parser.add_argument("--lr", type=float, default=1e-4)
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--max-length", type=int, default=256)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", default="docs/simulation", metavar="PREFIX",
                            help="Writes PREFIX.csv, PREFIX.png and PREFIX.json.")

    def handle(self, *args, **o):
        train_cfg = TrainConfig(epochs=o["epochs"], batch_size=o["batch_size"], learning_rate=o["lr"],
                                max_length=o["max_length"], seed=o["seed"])
        try:
            cfg = simulation.SimConfig(
                rounds=o["rounds"], per_round=o["per_round"], seed_labels=o["seed_labels"],
                strategies=tuple(dict.fromkeys(o["strategy"] or simulation.DEFAULT_STRATEGIES)), group=o["group"],
                per_problem=o["per_problem"],
                wrong_fraction=o["wrong_fraction"], seed=o["seed"], holdout=o["holdout"], base=o["base"],
                layers=o["layers"] or None, micro_hidden=o["hidden"], micro_heads=o["heads"],
                micro_vocab=o["vocab_size"], threads=o["threads"] or None, train=train_cfg,
                auto_labels=simulation.auto_label_index(r for f in o["auto_labels"] for r in read_records(f)) or None)
            oracle = [r for f in o["oracle"] for r in read_records(f)]
            eval_sets = {}
            for f in o["eval"]:
                name = Path(f).stem
                eval_sets[name if name not in eval_sets else f] = read_records(f)
            started, load_before = time.perf_counter(), os.getloadavg()
            result = simulation.simulate(oracle, eval_sets, cfg, log=lambda line: sys.stderr.write(line + "\n"))
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None
        if sys.argv[1:2] == ["simulate_active_learning"]:
            result["command"] = shlex.join(["python", "manage.py", *sys.argv[1:]])
        result["machine"] = {"cpus": os.cpu_count(), "torch_threads": cfg.threads, "loadavg_before": load_before,
                             "loadavg_after": os.getloadavg()}
        result["oracle_files"], result["eval_files"] = o["oracle"], o["eval"]
        prefix = Path(o["out"])
        prefix.parent.mkdir(parents=True, exist_ok=True)
        simulation.write_csv(result, f"{prefix}.csv")
        simulation.write_json(result, f"{prefix}.json")
        simulation.plot(result, f"{prefix}.png")
        name = result["primary_eval"]
        lines = [f"{len(oracle)} oracle records ({result['pool']} in the pool), evaluated on "
                 + ", ".join(f"{k} ({n})" for k, n in result["eval_sets"].items())]
        for strategy, curve in result["curves"].items():
            last = curve[-1]["eval"][name]
            lines.append(f"{strategy}: {curve[-1]['labels']} labels -> F1 {last['f1']:.3f}, "
                         f"step AUROC {last['step_auroc']:.3f} on {name}")
        for key, unit in (("efficiency", "labels"), ("efficiency_per_step_label", "step labels")):
            for metric, e in result.get(key, {}).get(name, {}).items():
                lines.append(f"data efficiency ({metric} on {name}): uniform needs {e['uniform_labels']:.0f}"
                             f"{' or more' if e['lower_bound'] else ''} {unit} to reach convincing's "
                             f"{e['target']:.3f} at {e['convincing_labels']:.0f}: {simulation.format_ratio(e)}"
                             + (" (lower bound: uniform never got there)" if e["lower_bound"] else ""))
        lines.append(f"wrote {prefix}.csv, {prefix}.png, {prefix}.json in {time.perf_counter() - started:.0f} s")
        self.stdout.write("\n".join(lines))
