from django.contrib import admin

from activelearn.models import (
    BestOfNEvaluation,
    GeneratedSample,
    GenerationRun,
    ModelVersion,
    PolicyConnection,
    SolutionScore,
)
from activelearn.prm.public import public_name


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "is_active", "base_model_name", "created_at", "finished_at")
    list_filter = ("project", "kind", "status", "is_active")
    readonly_fields = ("created_at", "finished_at")

    @admin.display(description="base model", ordering="base_model")
    def base_model_name(self, obj):
        """Its public name, as the API shows it: no server path in the list."""
        return public_name(obj.base_model)


@admin.register(SolutionScore)
class SolutionScoreAdmin(admin.ModelAdmin):
    list_display = ("id", "solution_id", "model_version", "score", "created_at")
    list_filter = ("model_version",)
    raw_id_fields = ("solution", "model_version")


class _ReadOnly(admin.ModelAdmin):
    """Written by the workers and the commands: looked at here, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PolicyConnection)
class PolicyConnectionAdmin(admin.ModelAdmin):
    """Stored policy connections; they are made and changed through /api/connections/ (checked
    there, and audited), so here they are looked at and deleted."""

    list_display = ("name", "project", "base_url", "model", "endpoint", "updated_at")
    list_filter = ("project",)
    readonly_fields = ("name", "project", "settings", "created_by", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False

    @admin.display(description="base URL")
    def base_url(self, obj):
        return obj.settings.get("base_url", "")

    @admin.display(description="model")
    def model(self, obj):
        return obj.settings.get("model", "")

    @admin.display(description="endpoint")
    def endpoint(self, obj):
        return obj.settings.get("endpoint", "")


@admin.register(GenerationRun)
class GenerationRunAdmin(_ReadOnly):
    list_display = ("key", "round", "connection", "status", "problems", "samples_wanted", "requests", "retries",
                    "completion_tokens", "created_at", "finished_at")
    list_filter = ("project", "status", "connection")
    search_fields = ("key",)


@admin.register(GeneratedSample)
class GeneratedSampleAdmin(_ReadOnly):
    list_display = ("id", "run", "problem_id", "index", "outcome", "solution_id", "finish_reason", "created_at")
    list_filter = ("outcome",)
    raw_id_fields = ("run", "problem", "solution")


@admin.register(BestOfNEvaluation)
class BestOfNEvaluationAdmin(_ReadOnly):
    list_display = ("id", "run", "prm_version", "orm_version", "created_by", "created_at")
