import sys

from django.core.management.base import BaseCommand, CommandError

from activelearn.cli.model_options import add_model_arguments, model_from
from activelearn.models import ModelKind, ModelVersion
from activelearn.prm import label_mix, registry
from activelearn.prm.training import TrainConfig
from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.formats.neutral import NEUTRAL_POLICIES


class Command(BaseCommand):
    help = "Train a PRM (from the labelled passes) or an ORM (from graded solutions) and register it."

    def add_arguments(self, parser):
        parser.add_argument("--kind", default=ModelKind.PRM, choices=ModelKind.values)
        parser.add_argument("--base", metavar="PATH",
                            help="Backbone: any local directory or hub id (default: PRM_BASE_MODEL, else the bundled "
                                 "all-MiniLM-L6-v2). An operator's command, so not limited to PRM_ALLOWED_BACKBONES, "
                                 "which only bounds what a round (API, page, start_round) may name.")
        parser.add_argument("--init-from", type=int, metavar="VERSION", help="Fine-tune this version instead.")
        parser.add_argument("--epochs", type=float, default=3.0)
        parser.add_argument("--max-steps", type=int, default=-1, help="Stop after this many optimiser steps.")
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--lr", type=float, default=5e-5)
        parser.add_argument("--max-length", type=int, default=512)
        parser.add_argument("--patience", type=int, default=2, help="Early stopping: evaluations without progress.")
        parser.add_argument("--val-fraction", type=float, default=0.1)
        parser.add_argument("--evals-per-epoch", type=int, default=1)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--neutral", default="keep", choices=NEUTRAL_POLICIES,
                            help="Neutral (0) steps: keep as their own class, or train them as positive, "
                                 "negative, or not at all.")
        parser.add_argument("--labels", default="human", choices=label_mix.MIXES,
                            help="human: people's passes only; human+consensus: plus automatic labels where a "
                                 "rollout source and a judge name the same first error; sources: --weight's sources.")
        parser.add_argument("--weight", action="append", default=[], metavar="SOURCE=W",
                            help=f"With --labels sources: a source ({', '.join(label_mix.SOURCES)}) and its loss "
                                 "weight; repeat for each.")
        parser.add_argument("--soft", action="store_true",
                            help="Train towards the share of rollouts that reached the right answer, where given.")
        parser.add_argument("--no-activate", action="store_true", help="Register without making it active.")
        add_model_arguments(parser, training=True)
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, **o):
        cfg = TrainConfig(epochs=o["epochs"], max_steps=o["max_steps"], batch_size=o["batch_size"],
                          learning_rate=o["lr"], max_length=o["max_length"], patience=o["patience"],
                          val_fraction=o["val_fraction"], seed=o["seed"], evals_per_epoch=o["evals_per_epoch"])
        actor, project = actor_from(o), project_from(o)
        try:
            weights = {}
            for text in o["weight"]:
                name, _, w = text.partition("=")
                weights[name.strip()] = float(w) if w.strip() else 1.0
            labels = label_mix.LabelMix(o["labels"], weights, o["soft"])
        except ValueError as exc:
            raise CommandError(f"--weight: {exc}") from None
        if o["weight"] and o["labels"] != "sources":
            raise CommandError("--weight needs --labels sources")
        init = None
        if o["init_from"]:
            init = ModelVersion.objects.filter(pk=o["init_from"], status=ModelVersion.Status.READY,
                                               project=project).first()
            if init is None:
                raise CommandError(f"no ready model version {o['init_from']}")

        def progress(logs):
            keys = ("loss", "eval_loss", "learning_rate")
            shown = " ".join(f"{k}={logs[k]:.4g}" for k in keys if k in logs)
            if shown:
                epoch = logs.get("epoch") or 0
                sys.stderr.write(f"step {logs['step']}/{logs['max_steps']} epoch {epoch:.2f} {shown}\n")

        try:
            version = registry.train_version(o["kind"], base=o["base"], init_from=init, cfg=cfg,
                                             neutral=o["neutral"], activate=not o["no_activate"], progress=progress,
                                             labels=labels, actor=actor, project=project.pk, model=model_from(o))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        val = version.metrics.get("validation") or {}

        def fmt(key):
            return "n/a" if val.get(key) is None else f"{val[key]:.3f}"

        self.stdout.write(self.style.SUCCESS(
            f"{version}: {version.data_snapshot['train_items']} training / {version.data_snapshot['val_items']} "
            f"validation sequences; validation step AUROC {fmt('step_auroc')}, token accuracy "
            f"{fmt('token_accuracy')}; saved in {version.path}"))
