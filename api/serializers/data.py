"""Read shapes for problems, solutions and passes (staff only: these carry gold labels and other
annotators' work)."""
from rest_framework import serializers

from labeling.models import LabeledPass, Problem, Solution


def _project():
    return serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="The project's slug.")


class ProblemOut(serializers.ModelSerializer):
    project = _project()
    n_solutions = serializers.IntegerField(read_only=True)

    class Meta:
        model = Problem
        fields = ["id", "project", "text", "ground_truth_answer", "ground_truth_solution", "subject", "level",
                  "source_id",
                  "created_at", "n_solutions"]


class SolutionOut(serializers.ModelSerializer):
    project = _project()
    steps = serializers.ListField(child=serializers.CharField())
    n_passes = serializers.IntegerField(read_only=True)

    class Meta:
        model = Solution
        fields = ["id", "project", "problem", "steps", "final_answer", "answer_is_correct", "answer_graded_at",
                  "generator",
                  "source_id", "verifier_score", "generation", "is_quality_control", "is_screening",
                  "gold_first_error", "created_at", "n_passes"]


class PassOut(serializers.ModelSerializer):
    project = _project()
    annotator = serializers.UUIDField(source="annotator.uuid")
    record = serializers.SerializerMethodField(help_text="The pass as a PRM800K record.")

    class Meta:
        model = LabeledPass
        fields = ["id", "project", "annotator", "problem", "solution", "generation", "finish_reason", "reason_text",
                  "total_time", "submitted_at", "is_quality_control", "is_screening", "record"]

    def get_record(self, obj) -> dict:
        return self.context["records"].get(obj.pk)
