"""Automatic labelling runs and agreement figures (ML staff start runs; they and admins read)."""
from rest_framework import serializers

from activelearn.labellers import runs
from api.serializers.projects import project_in


class LabelRunIn(serializers.Serializer):
    project = project_in()
    source = serializers.ChoiceField(choices=runs.SOURCES)
    key = serializers.RegexField(r"^[A-Za-z0-9._:-]{1,100}$", required=False,
                                 help_text="Run name; default: derived from the options (the same request resumes).")
    connection = serializers.CharField(required=False, default="demo", max_length=64)
    k = serializers.IntegerField(required=False, default=8, min_value=1, max_value=256)
    attempts = serializers.IntegerField(required=False, default=1, min_value=1, max_value=32)
    verdicts = serializers.BooleanField(required=False, default=False)
    threshold = serializers.FloatField(required=False, default=0.5, min_value=0, max_value=1)
    of_run = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                   help_text="Only the solutions of this generation run.")
    labelled = serializers.BooleanField(required=False, default=False, help_text="Only solutions with a human pass.")
    problem_source = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    cap = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=10**7)


class LabelRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField(help_text="The project's slug.")
    run = serializers.CharField()
    source = serializers.CharField()
    labeller_version = serializers.CharField()
    model = serializers.CharField()
    status = serializers.CharField()
    solutions = serializers.IntegerField()
    labelled = serializers.IntegerField()
    malformed = serializers.IntegerField()
    with_error = serializers.IntegerField()
    cost = serializers.DictField()
    params = serializers.DictField(help_text="The labeller's parameters and its connection's public part (no key).")
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        return super().to_representation(run_out(instance) if not isinstance(instance, dict) else instance)


def run_out(run) -> dict:
    s = runs.RUNS.summary(run)
    params = {k: v for k, v in run.params.items() if k != "solution_ids"}
    return {"id": run.pk, "project": run.project.slug, **s, "params": params, "error": run.error,
            "created_at": run.created_at,
            "finished_at": run.finished_at}


class AgreementOut(serializers.Serializer):
    against_people = serializers.DictField(help_text="Per run: pairs, first-error agreement, per-step Cohen's kappa, "
                                           "the per-step and per-solution confusion matrices.")
    between_runs = serializers.DictField(allow_null=True, help_text="With ?a=RUN&b=RUN: the same for two runs.")
    disagreements = serializers.ListField(child=serializers.DictField(), help_text="Solutions whose labels "
                                          "disagree on the first error, the most disagreeing first.")
