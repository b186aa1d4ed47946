"""Read shapes for problems, solutions, passes, people and model versions (staff only:
these carry gold labels and other annotators' work)."""
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from activelearn import backbone
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


def _checked_password(password: str, user) -> str:
    """The site's AUTH_PASSWORD_VALIDATORS, as the Django admin and createsuperuser apply them."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from None
    return password


class UserIn(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", help_text="Letters, digits and @/./+/-/_ only.")
    password = serializers.CharField(min_length=8, max_length=128, write_only=True,
                                     help_text="Checked by the site's password validators.")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices)

    def validate(self, data):
        user = get_user_model()(username=data["username"], email=data.get("email", ""))
        try:
            _checked_password(data["password"], user)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"password": exc.detail}) from None
        return data


class UserPatch(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    password = serializers.CharField(min_length=8, max_length=128, required=False, write_only=True,
                                     help_text="Checked by the site's password validators.")
    is_active = serializers.BooleanField(required=False)

    def validate_password(self, value):
        return _checked_password(value, self.context.get("user"))


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
    """No `path`, and no server path anywhere: server file paths stay on the server."""

    base_model = serializers.SerializerMethodField(
        help_text="The backbone it was trained from, by its public name: a PRM_ALLOWED_BACKBONES name, "
                  f"`{backbone.BUNDLED_NAME}`, or the last component of a path; never a server path.")

    class Meta:
        model = ModelVersion
        fields = ["id", "kind", "base_model", "parent", "status", "is_active", "hyperparameters", "data_snapshot",
                  "metrics", "error", "created_at", "finished_at"]

    def get_base_model(self, obj) -> str:
        return backbone.public_name(obj.base_model)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key in ("hyperparameters", "data_snapshot", "metrics", "error"):  # a library's error names paths
            data[key] = backbone.scrub(data[key])
        return data


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
