"""Projects as their members see them: settings, guidelines and the caller's role there."""
from rest_framework import serializers

from labeling.models import Project, Role


class ProjectOut(serializers.ModelSerializer):
    role = serializers.ChoiceField(Role.choices, read_only=True, help_text="Yours in this project.")

    class Meta:
        model = Project
        fields = ["slug", "name", "guidelines", "protocol", "allow_neutral", "default_overlap", "qc_every",
                  "screening_threshold", "lease_seconds", "role", "created_at"]
        read_only_fields = fields


def project_in() -> serializers.SlugField:
    """The project a write goes to (api.scoping.target checks it is the caller's)."""
    return serializers.SlugField(required=False, allow_blank=True, max_length=50,
                                 help_text="The project's slug; may be left out when you can do this in one "
                                           "project only.")
