from django.core.management.base import BaseCommand

from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.cli.progress import ImportCommand
from labeling.imports.trajectory_labels import KINDS, import_trajectory_labels


class Command(ImportCommand, BaseCommand):
    help = ("Import label files of agent traces (AgentProcessBench's people's and models' JSONL: record_id, "
            "step_labels by message index, final_label) onto the project's imported traces: a person's lines "
            "become passes, a model's automatic labels of the run imported:agentprocessbench:<model>. "
            "All or nothing per file.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--kind", default="auto", choices=KINDS,
                            help="auto: lines with `explanations` are a model's, others a person's.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, files, kind, dry_run, no_progress, **opts):
        project = project_from(opts)

        def run(path, **kw):
            return import_trajectory_labels(path, kind=kind, project=project.pk, **kw)

        self.import_files(files, run, dry_run=dry_run, no_progress=no_progress, fmt="trajectory-labels",
                          actor=actor_from(opts), project=project)
