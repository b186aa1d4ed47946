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
    list_display = ("id", "kind", "status", "is_active", "base_model_name", "validation", "created_at", "finished_at")
    list_filter = ("project", "kind", "status", "is_active")
    readonly_fields = ("created_at", "finished_at", "validation")

    @admin.display(description="validation (held out by problem)")
    def validation(self, obj):
        """The version's validation figures in one line, with their sample sizes and where they were measured."""
        v = (obj.metrics or {}).get("validation") or {}
        if not v.get("source"):
            return v.get("note", "–")

        def fig(x):
            return "–" if x is None else f"{x:.3f}"

        parts = []
        if "step_auroc" in v:
            parts.append(f"step AUROC {fig(v['step_auroc'])} ({v.get('n_steps')} steps)")
        if "f1" in v:
            parts.append(f"F1 {fig(v['f1'])} at {fig(v.get('threshold'))} ({v.get('n_error')} / {v.get('n_correct')})")
        if "final_answer_auroc" in v:
            parts.append(f"final-answer AUROC {fig(v['final_answer_auroc'])} ({v.get('aggregation')}; "
                         f"{v.get('n_right')} right / {v.get('n_wrong')} wrong)")
        return f"{'; '.join(parts)}; on {v.get('source')}"

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
