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
