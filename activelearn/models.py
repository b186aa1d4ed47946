"""The model registry and the scores models give to solutions."""
from django.db import models
from django.db.models import Q


class ModelKind(models.TextChoices):
    PRM = "prm", "Process reward model"
    ORM = "orm", "Outcome reward model"


class ModelVersion(models.Model):
    """One trained reward model: where it came from, what it learned from, how good it is."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=8, choices=ModelKind.choices, default=ModelKind.PRM)
    base_model = models.CharField(max_length=500, help_text="Backbone path or hub id it was trained from.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               help_text="The version it was fine-tuned from, if any.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
    is_active = models.BooleanField(default=False, help_text="The version used to score and select.")
    path = models.CharField(max_length=1000, blank=True, default="", help_text="Directory with weights and tokenizer.")
    hyperparameters = models.JSONField(default=dict, blank=True)
    data_snapshot = models.JSONField(default=dict, blank=True,
                                     help_text="Label counts, generation range and pass count it was trained on.")
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(is_active=True), name="one_active_model_per_kind"),
            models.CheckConstraint(condition=Q(status__in=["training", "ready", "failed"]), name="model_status_valid"),
            models.CheckConstraint(condition=Q(is_active=False) | Q(status="ready"), name="only_ready_is_active"),
        ]
        permissions = [("run_rounds", "Can train, activate models and start or cancel active-learning rounds")]

    def __str__(self):
        return f"{self.kind} v{self.pk} ({self.status}{', active' if self.is_active else ''})"


class SolutionScore(models.Model):
    """A model's score for a solution: per-step P(+1)+P(0) and the aggregated solution score."""

    solution = models.ForeignKey("labeling.Solution", on_delete=models.CASCADE, related_name="scores")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scores")
    score = models.FloatField(db_index=True)
    step_scores = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model_version", "solution"], name="one_score_per_model")]
