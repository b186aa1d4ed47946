"""Projects as their members see them: settings, guidelines and the caller's role there."""
from rest_framework import serializers

from labeling.models import Project, Role


class ProjectOut(serializers.ModelSerializer):
    role = serializers.ChoiceField(Role.choices, read_only=True, help_text="Yours in this project.")

    class Meta:
        model = Project
        fields = ["slug", "name", "guidelines", "protocol", "allow_neutral", "first_error_mode", "suggestion_source",
                  "outcome_checker", "error_taxonomy", "default_overlap", "qc_every", "screening_threshold",
                  "lease_seconds", "role", "created_at"]
        read_only_fields = fields


class ProjectPatch(serializers.ModelSerializer):
    """Settings a project's admins change (the model checks the ranges)."""

    class Meta:
        model = Project
        fields = ["name", "guidelines", "protocol", "allow_neutral", "first_error_mode", "suggestion_source",
                  "outcome_checker", "error_taxonomy", "default_overlap", "qc_every", "screening_threshold",
                  "lease_seconds"]


class ProjectIn(ProjectPatch):
    class Meta(ProjectPatch.Meta):
        fields = ["slug", *ProjectPatch.Meta.fields]
        extra_kwargs = {"slug": {"validators": []}}  # a taken slug is refused by the view, naming the field


class MemberOut(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(Role.choices)
    screening_passed_at = serializers.DateTimeField(allow_null=True, help_text="When they passed this project's "
                                                                               "screening set.")
    created_at = serializers.DateTimeField()


class MemberIn(serializers.Serializer):
    role = serializers.ChoiceField(Role.choices)


def project_in() -> serializers.SlugField:
    """The project a write goes to (api.scoping.target checks it is the caller's)."""
    return serializers.SlugField(required=False, allow_blank=True, max_length=50,
                                 help_text="The project's slug; may be left out when you can do this in one "
                                           "project only.")
