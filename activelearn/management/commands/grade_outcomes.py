import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from activelearn.grading import checkers, worker_pool
from activelearn.grading.outcomes import grade_outcomes
from labeling.cli import add_project_argument, project_from
from labeling.people import projects


class Command(BaseCommand):
    help = ("Grade a project's final answers (an agent trace's outcome) by its outcome checker (math, exact, "
            "normalised, numeric, regex, file, unit_tests in a sandbox, judge over a policy connection) and record "
            "answer_is_correct / answer_graded_at. --checker sets the project's checker first.")

    def add_arguments(self, parser):
        parser.add_argument("--checker", metavar="JSON", help='The project\'s checker from now on, e.g. '
                                                              '\'{"kind": "normalised"}\'; {} is math.')
        parser.add_argument("--force", action="store_true", help="Grade again graded solutions, and override "
                                                                 "verdicts from the data (a trace's reward).")
        add_project_argument(parser)

    def handle(self, *args, checker, force, **opts):
        project = project_from(opts)
        if checker is not None:  # a project setting: checked and audit-logged as the settings page changes it
            try:
                project = projects.update_settings(project, {"outcome_checker": json.loads(checker)})
            except json.JSONDecodeError as exc:
                raise CommandError(f"--checker: not JSON: {exc}") from None
            except ValidationError as exc:
                raise CommandError(f"--checker: {' '.join(exc.message_dict.get('outcome_checker', exc.messages))}") \
                    from None
        config = checkers.validate(project.outcome_checker or {})
        judge = None
        if config["kind"] == "judge":
            from activelearn.labellers.outcome_judge import OutcomeJudge

            judge = OutcomeJudge(config["connection"], project=project.pk)
        try:
            counts = grade_outcomes(project, force=force, judge=judge)
        except checkers.CheckerError as exc:
            raise CommandError(str(exc)) from None
        finally:
            worker_pool.shutdown_workers()
        self.stdout.write(self.style.SUCCESS(
            f"{project.slug} ({config['kind']}): graded {counts['graded']} ({counts['correct']} correct, "
            f"{counts['wrong']} wrong), {counts['ungradable']} ungradable, {counts['skipped']} skipped"))
