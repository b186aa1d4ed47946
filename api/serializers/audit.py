"""The audit trail, read only (admins)."""
from rest_framework import serializers

from labeling.models import AuditEvent


class AuditEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", help_text="Username as it was then; 'os:NAME' for a "
                                  "command run without --actor, 'system' for the worker's own actions.")
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True,
                                           help_text="The project it happened in; null for the instance's own.")
    details = serializers.JSONField(help_text="What changed: file names, counts, filters, old and new values.")

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "project", "actor", "action", "source", "target_type", "target_id",
                  "target_label",
                  "details", "request_id"]
