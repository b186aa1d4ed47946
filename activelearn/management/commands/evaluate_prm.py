import json

from django.core.management.base import BaseCommand, CommandError

from activelearn.models import GenerationRun, ModelKind, ModelVersion
from activelearn.policy import best_of_n_files, best_of_n_runs
from activelearn.prm import best_of_n, loading, processbench, registry
from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from


def _version(pk, kind, project) -> ModelVersion | None:
    """Version `pk`, else the active one of `kind` in `project`."""
    if pk:
        v = ModelVersion.objects.filter(pk=pk, kind=kind, status=ModelVersion.Status.READY).first()
        if v is None:
            raise CommandError(f"no ready {kind} version {pk}")
        return v
    return registry.active_version(kind, project.pk)


class Command(BaseCommand):
    help = "Evaluate a PRM: ProcessBench F1 and step AUROC per file, and best-of-N against an ORM and majority vote."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version V` names the model version here, replacing Django's "print the version".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", type=int, help="PRM version (default: the active one).")
        parser.add_argument("--orm-version", type=int, help="ORM version for best-of-N (default: the active one).")
        parser.add_argument("--processbench", nargs="*", default=[], metavar="FILE")
        parser.add_argument("--threshold-file", help="Choose the threshold on this file (default: the GSM8K one).")
        parser.add_argument("--best-of-n", metavar="FILE", help="Scored samples (JSON/JSONL) for best-of-N.")
        parser.add_argument("--best-of-n-run", metavar="RUN", help="Best-of-N on the samples a generation run made "
                            "(its key: round-<generation>, or a generate_solutions run name); the result is "
                            "recorded and shown on /rounds/.")
        parser.add_argument("--out", metavar="PREFIX", help="With --best-of-n-run: also write PREFIX.json, .csv and "
                            ".png.")
        parser.add_argument("--n", type=int, nargs="+", help="N for best-of-N (default 1 2 4 8 16; with "
                            "--best-of-n-run 1 2 4 ... 64, up to the run's samples per problem).")
        parser.add_argument("--trials", type=int, default=400)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--batch-size", type=int, help="Scoring batch (default: 32 on a GPU, 8 on CPU).")
        parser.add_argument("--json", action="store_true", help="Print the figures as one JSON object.")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, **o):
        if not o["processbench"] and not o["best_of_n"] and not o["best_of_n_run"]:
            raise CommandError("give --processbench FILE..., --best-of-n FILE and/or --best-of-n-run RUN")
        version = _version(o["version"], ModelKind.PRM, project_from(o))
        if version is None:
            raise CommandError("no PRM version is active: train one with train_prm")
        rm = loading.load(version.path)
        out = {"version": version.pk}
        if o["processbench"]:
            out["processbench"] = processbench.evaluate_processbench(rm, o["processbench"], o["threshold_file"],
                                                                     o["batch_size"], o["seed"])
        if o["best_of_n"]:
            orm_version = _version(o["orm_version"], ModelKind.ORM, project_from(o))
            orm = loading.load(orm_version.path) if orm_version else None
            out["best_of_n"] = best_of_n.of_file(rm, orm, o["best_of_n"], o["n"] or [1, 2, 4, 8, 16],
                                                 o["trials"], o["seed"], o["batch_size"])
            out["best_of_n"]["orm_version"] = orm_version.pk if orm_version else None
        if o["best_of_n_run"]:
            out["best_of_n"] = self._run_best_of_n(version, o)
        if o["json"]:
            self.stdout.write(json.dumps(out, indent=1))
            return
        self._print(out)

    def _run_best_of_n(self, version, o) -> dict:
        run = GenerationRun.objects.filter(key=o["best_of_n_run"]).first()
        if run is None:
            raise CommandError(f"there is no generation run {o['best_of_n_run']!r} (see /api/generations/)")
        orm_version = _version(o["orm_version"], ModelKind.ORM, project_from(o))
        ns = o["n"] or list(best_of_n_runs.DEFAULT_NS)
        result = best_of_n_runs.of_run(run, version, orm_version, ns, o["trials"], o["seed"])
        best_of_n_runs.record(run, version, orm_version, result, actor_from(o))
        if o["out"]:
            for path in best_of_n_files.write(result, o["out"]):
                self.stderr.write(f"wrote {path}")
        return result

    def _print(self, out):
        w = self.stdout.write
        w(f"PRM version {out['version']}")
        pb = out.get("processbench")
        if pb:
            w(f"ProcessBench (threshold {pb['threshold']:.4f} chosen on {pb['threshold_file']})")
            w(f"{'file':40} {'n':>5} {'acc err':>8} {'acc ok':>8} {'F1':>6} {'AUROC':>6}  baselines F1: "
              "always-error / all-correct / random threshold")
            for f, m in pb["files"].items():
                b = m["baselines"]
                w(f"{f[-40:]:40} {m['n']:5d} {100 * m['acc_error']:8.1f} {100 * m['acc_correct']:8.1f} "
                  f"{100 * m['f1']:6.1f} {m['step_auroc']:6.3f}  {100 * b['always_error']:.1f} / "
                  f"{100 * b['all_correct']:.1f} / {100 * b['random_threshold']:.1f}")
        bon = out.get("best_of_n")
        if bon:
            w(f"Best-of-N on {bon['problems']} problems, {bon['samples']} samples (accuracy %, mean over trials)")
            methods = list(bon["curves"])
            w("N      " + " ".join(f"{m:>9}" for m in methods))
            for i, row in enumerate(bon["curves"][methods[0]]):
                w(f"{row['n']:<6} " + " ".join(f"{100 * bon['curves'][m][i]['accuracy']:9.1f}" for m in methods))
