from django.core.management.base import BaseCommand, CommandError

from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.cli.progress import ImportCommand
from labeling.formats import solutions as solution_formats
from labeling.formats.segmentation import STRATEGIES, SegmentationError, from_options
from labeling.imports import files as importers


class Command(ImportCommand, BaseCommand):
    help = ("Import problems and unlabelled solutions: Stepwise JSONL, MATH problem files, or ProcessBench "
            "files (whose human step labels import as labelled passes). All or nothing per file.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", default="auto", choices=solution_formats.FORMATS)
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")
        parser.add_argument("--enqueue", action="store_true",
                            help="Queue the file's solutions for labelling (earlier first), except screening and "
                                 "QC ones and those queued already.")
        parser.add_argument("--segment", choices=STRATEGIES, metavar="STRATEGY",
                            help="Cut a record's `solution` text into steps by this strategy (records with their "
                                 f"own `segmentation` keep it): {', '.join(STRATEGIES)}.")
        parser.add_argument("--marker", action="append", help="--segment markers: a separator (repeat; default "
                                                              "<step>, </step> and ---).")
        parser.add_argument("--min-step-chars", type=int, default=0, help="Shorter pieces join the step before.")
        parser.add_argument("--max-step-chars", type=int, default=0, help="Longer pieces are cut at sentence ends.")
        parser.add_argument("--max-steps", type=int, default=0, help="At most this many steps (neighbours join).")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, files, format, dry_run, no_progress, enqueue, **opts):
        project = project_from(opts)
        segment_by = None
        if opts.get("segment") or opts.get("marker") or opts.get("min_step_chars") or opts.get("max_step_chars") \
                or opts.get("max_steps"):
            try:
                segment_by = from_options({"strategy": opts.get("segment") or "auto",
                                           "min_chars": opts["min_step_chars"], "max_chars": opts["max_step_chars"],
                                           "max_steps": opts["max_steps"],
                                           **({"markers": opts["marker"]} if opts.get("marker") else {})})
            except SegmentationError as exc:
                names = {"min_chars": "min-step-chars", "max_chars": "max-step-chars", "max_steps": "max-steps",
                         "strategy": "segment", "markers": "marker"}
                raise CommandError(f"--{names.get(exc.field, exc.field)}: {exc.message}") from None

        def run(path, **kw):
            return importers.import_solutions(path, format, enqueue=enqueue, project=project.pk,
                                              segment_by=segment_by, **kw)

        self.import_files(files, run, dry_run=dry_run, no_progress=no_progress, fmt=format, actor=actor_from(opts),
                          project=project)
