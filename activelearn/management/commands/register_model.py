from django.core.management.base import BaseCommand, CommandError

from activelearn.cli.model_options import add_model_arguments, model_from
from activelearn.models import ModelKind
from activelearn.prm.register import VALIDATE_LIMIT, register_checkpoint
from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from


class Command(BaseCommand):
    help = ("Register a checkpoint trained elsewhere (OpenRLHF's train_prm, a public PRM, ...) as a model version: "
            "copied under MODEL_DIR, given validation figures on the project's labels, activated only if asked.")

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="A local transformers checkpoint directory.")
        parser.add_argument("--kind", default=ModelKind.PRM, choices=ModelKind.values)
        add_model_arguments(parser, training=False)
        parser.add_argument("--activate", action="store_true", help="Make it the active version of its kind.")
        parser.add_argument("--validate-limit", type=int, default=VALIDATE_LIMIT,
                            help="At most this many labelled sequences of the validation split to evaluate on.")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, **o):
        project = project_from(o)
        try:
            version = register_checkpoint(o["path"], kind=o["kind"], model=model_from(o), activate=o["activate"],
                                          actor=actor_from(o), project=project.pk, validate_limit=o["validate_limit"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        val = version.metrics.get("validation") or {}
        auroc = "n/a" if val.get("step_auroc") is None else f"{val['step_auroc']:.3f}"
        self.stdout.write(self.style.SUCCESS(
            f"{version}: {version.hyperparameters['model']['head']}; validation step AUROC {auroc} on "
            f"{val.get('n_steps', 0)} labelled steps{'; active' if version.is_active else ''}"))
