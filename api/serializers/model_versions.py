"""Model versions of the PRM registry (ML staff): no server paths."""
from rest_framework import serializers

from activelearn.models import ModelVersion
from activelearn.prm import public


class ModelVersionOut(serializers.ModelSerializer):
    """No `path`, and no server path anywhere: server file paths stay on the server."""

    base_model = serializers.SerializerMethodField(
        help_text="The backbone it was trained from, by its public name: a PRM_ALLOWED_BACKBONES name, "
                  f"`{public.BUNDLED_NAME}`, or the last component of a path; never a server path.")

    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ModelVersion
        fields = ["id", "project", "kind", "base_model", "parent", "status", "is_active", "hyperparameters",
                  "data_snapshot",
                  "metrics", "error", "created_at", "finished_at"]

    def get_base_model(self, obj) -> str:
        return public.public_name(obj.base_model)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key in ("hyperparameters",
                  "data_snapshot", "metrics", "error"):  # a library's error names paths
            data[key] = public.scrub(data[key])
        return data
