"""Read shapes for problems, solutions, passes, people and model versions (staff only:
these carry gold labels and other annotators' work)."""
from django.contrib.auth import get_user_model
from rest_framework import serializers

from activelearn.models import ModelVersion
from labeling.models import Annotator, LabeledPass, Problem, Role, Solution

from .models import ApiToken


class ProblemOut(serializers.ModelSerializer):
    n_solutions = serializers.IntegerField(read_only=True)

    class Meta:
        model = Problem
        fields = ["id", "text", "ground_truth_answer", "ground_truth_solution", "subject", "level", "source_id",
                  "created_at", "n_solutions"]


class SolutionOut(serializers.ModelSerializer):
    steps = serializers.ListField(child=serializers.CharField())
    n_passes = serializers.IntegerField(read_only=True)

    class Meta:
        model = Solution
        fields = ["id", "problem", "steps", "final_answer", "answer_is_correct", "answer_graded_at", "generator",
                  "source_id", "verifier_score", "generation", "is_quality_control", "is_screening",
                  "gold_first_error", "created_at", "n_passes"]


class PassOut(serializers.ModelSerializer):
    annotator = serializers.UUIDField(source="annotator.uuid")
    record = serializers.SerializerMethodField(help_text="The pass as a PRM800K record.")

    class Meta:
        model = LabeledPass
        fields = ["id", "annotator", "problem", "solution", "generation", "finish_reason", "reason_text",
                  "total_time", "submitted_at", "is_quality_control", "is_screening", "record"]

    def get_record(self, obj) -> dict:
        return self.context["records"].get(obj.pk)


class UserOut(serializers.ModelSerializer):
    # null for a user made outside Stepwise (createsuperuser) until it first uses the site
    role = serializers.CharField(source="annotator.role", read_only=True, allow_null=True)
    annotator = serializers.UUIDField(source="annotator.uuid", read_only=True, allow_null=True)
    screening_passed_at = serializers.DateTimeField(source="annotator.screening_passed_at", read_only=True,
                                                    allow_null=True)

    class Meta:
        model = get_user_model()
        fields = ["username", "email", "is_active", "role", "annotator", "screening_passed_at", "date_joined"]


class UserIn(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", help_text="Letters, digits and @/./+/-/_ only.")
    password = serializers.CharField(min_length=8, max_length=128, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices)


class UserPatch(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    password = serializers.CharField(min_length=8, max_length=128, required=False, write_only=True)
    is_active = serializers.BooleanField(required=False)


class ScreeningIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=["approve", "reset"])


class TokenOut(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]


class TokenCreatedOut(TokenOut):
    key = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(TokenOut.Meta):
        fields = TokenOut.Meta.fields + ["key"]


class TokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    user = serializers.CharField(required=False, max_length=150,
                                 help_text="Admins only: make the token for this username.")


class ModelVersionOut(serializers.ModelSerializer):
    """No `path`: server file paths stay on the server."""

    class Meta:
        model = ModelVersion
        fields = ["id", "kind", "base_model", "parent", "status", "is_active", "hyperparameters", "data_snapshot",
                  "metrics", "error", "created_at", "finished_at"]


class AnnotatorStatsOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    username = serializers.CharField()
    role = serializers.CharField()
    passes = serializers.IntegerField()
    steps_rated = serializers.IntegerField()
    passes_per_hour = serializers.FloatField(allow_null=True)
    seconds_per_step = serializers.FloatField(allow_null=True)
    qc_agreement = serializers.FloatField(allow_null=True)
    qc_answered = serializers.IntegerField()
    screening = serializers.CharField()
    screening_agreement = serializers.FloatField(allow_null=True)


class AnnotatorRef(serializers.ModelSerializer):
    class Meta:
        model = Annotator
        fields = ["uuid", "role"]
