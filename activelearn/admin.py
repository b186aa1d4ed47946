from django.contrib import admin

from activelearn.models import ModelVersion, SolutionScore
from activelearn.prm.public import public_name


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "is_active", "base_model_name", "created_at", "finished_at")
    list_filter = ("kind", "status", "is_active")
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
