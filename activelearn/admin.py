from django.contrib import admin

from .models import ModelVersion, SolutionScore


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "is_active", "base_model", "created_at", "finished_at")
    list_filter = ("kind", "status", "is_active")
    readonly_fields = ("created_at", "finished_at")


@admin.register(SolutionScore)
class SolutionScoreAdmin(admin.ModelAdmin):
    list_display = ("id", "solution_id", "model_version", "score", "created_at")
    list_filter = ("model_version",)
    raw_id_fields = ("solution", "model_version")
