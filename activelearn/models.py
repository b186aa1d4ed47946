"""The model registry and the scores models give to solutions."""
from django.db import models
from django.db.models import Q

from labeling.models import RUN_STATUSES, RunStatus, project_field


class ModelKind(models.TextChoices):
    PRM = "prm", "Process reward model"
    ORM = "orm", "Outcome reward model"


class ModelVersion(models.Model):
    """One trained reward model: where it came from, what it learned from, how good it is."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    project = project_field("model_versions")
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
            models.UniqueConstraint(fields=["project", "kind"], condition=Q(is_active=True),
                                    name="one_active_model_per_project_and_kind"),
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


class Stage(models.TextChoices):
    GENERATE = "generate", "Sample candidates from the policy"
    TRAIN = "train", "Retrain the PRM"
    SCORE = "score", "Score the pool"
    GRADE = "grade", "Grade final answers"
    AUTO_LABEL = "auto_label", "Label automatically"
    SELECT = "select", "Select"
    QUEUE = "queue", "Queue for labelling"


STAGES = [s.value for s in Stage]
# A round holding the one active slot: queued for a worker, or running.
ACTIVE_ROUND_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class Round(models.Model):
    """One active-learning round (a *generation*): generate (optional), retrain, score, grade, select,
    queue.

    `stages` holds per stage {status, started_at, finished_at, seconds, done, total}: a
    stage marked done is skipped when a failed round is resumed, and each stage is written
    so that running it twice gives the same result.
    """

    project = project_field("rounds")
    generation = models.IntegerField(unique=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # "active" while queued or running, NULL after: the unique index lets one round run at a time in a project.
    slot = models.CharField(max_length=8, null=True, blank=True, editable=False)
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, default="")
    config = models.JSONField(default=dict)
    stages = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    comparison = models.JSONField(default=dict, blank=True,
                                  help_text="How the selection compares with the last round's.")
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="rounds", help_text="The model that scored and selected.")
    error = models.TextField(blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    attempt = models.PositiveIntegerField(default=0, help_text="Bumped on every dispatch; a stale task message "
                                          "(an older attempt redelivered by the broker) does nothing.")
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="When the round's task reached the broker.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life from the worker.")
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-generation"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="round_status_valid"),
            models.CheckConstraint(condition=Q(slot__isnull=True) | Q(status__in=["queued", "running"]),
                                   name="round_slot_only_while_active"),
            models.UniqueConstraint(fields=["project", "slot"], name="one_active_round_per_project"),
        ]

    def __str__(self):
        return f"round {self.generation} ({self.status})"


class RoundSelection(models.Model):
    """A solution a round picked for labelling, with why and with the score it had."""

    class Bucket(models.TextChoices):
        CONVINCING_WRONG = "convincing_wrong", "Most convincing wrong answer"
        CONVINCING_REST = "convincing_rest", "Most convincing of the rest"
        TOP_K = "top_k", "Global top-K wrong answer"
        UNIFORM = "uniform", "Uniform random (control)"
        DISAGREEMENT = "disagreement", "Label sources disagree"
        UNCERTAINTY = "uncertainty", "The PRM is least sure of a step"

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="selections")
    solution = models.ForeignKey("labeling.Solution", on_delete=models.CASCADE, related_name="selections")
    score = models.FloatField(null=True, blank=True)
    answer_is_correct = models.BooleanField(null=True, blank=True)
    bucket = models.CharField(max_length=20, choices=Bucket.choices)
    rank = models.PositiveIntegerField()

    class Meta:
        ordering = ["round", "rank"]
        constraints = [models.UniqueConstraint(fields=["round", "solution"], name="one_selection_per_round")]


class WorkerHeartbeat(models.Model):
    """Written by every Celery worker every few seconds: the 'is a worker alive?' indicator."""

    hostname = models.CharField(max_length=255, unique=True)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)


class PolicyConnection(models.Model):
    """A named OpenAI-compatible server that ML staff set up to sample solutions (a policy).

    `settings` holds the connection's options, checked by activelearn.policy.connection. There is
    no key here: `settings.api_key_env` names the workers' environment variable that holds it.
    """

    project = project_field("connections")
    name = models.CharField(max_length=64)
    settings = models.JSONField(default=dict)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # a name is a project's (rounds name their project's connections): one project cannot learn
        # another's names by being told a name is taken
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="connection_name_per_project")]

    def __str__(self):
        return self.name


class GenerationRun(models.Model):
    """One generation of candidate solutions from a policy: a round's generate stage (`round`), or a
    `generate_solutions` command (`key` is its run name). Its samples are keyed by (run, problem,
    index), so a crash, a redelivered task or a resume never samples the same one twice.

    The request counters move with F() updates as each chunk finishes: the cost of the run."""

    project = project_field("generation_runs")
    key = models.CharField(max_length=100, unique=True, help_text="round-<generation>, or the command's run name.")
    round = models.OneToOneField(Round, null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_run")
    connection = models.CharField(max_length=64)
    config = models.JSONField(default=dict, help_text="The resolved connection (never a key), the samples per "
                              "problem and the problem filter.")
    status = models.CharField(max_length=16, choices=RUN_STATUSES, default=RunStatus.RUNNING)
    problems = models.PositiveIntegerField(default=0)
    samples_wanted = models.PositiveIntegerField(default=0)
    requests = models.PositiveBigIntegerField(default=0)
    retries = models.PositiveBigIntegerField(default=0)
    failed_requests = models.PositiveBigIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    request_seconds = models.FloatField(default=0.0, help_text="Summed over requests (they overlap).")
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(status__in=[v for v, _ in RUN_STATUSES]),
                                              name="generation_run_status_valid")]

    def __str__(self):
        return f"generation {self.key} ({self.status})"


class GeneratedSample(models.Model):
    """One sample asked of the policy: what became of it, and which solution it is.

    `kept`: a new solution; `duplicate`: the same content as a solution already there (that one is
    linked); `empty`, `truncated`, `too_long`: dropped, with no solution."""

    class Outcome(models.TextChoices):
        KEPT = "kept", "Kept: a new solution"
        DUPLICATE = "duplicate", "Same content as an existing solution"
        EMPTY = "empty", "Dropped: no steps"
        TRUNCATED = "truncated", "Dropped: cut off at max_tokens"
        TOO_LONG = "too_long", "Dropped: too many or too long steps"

    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="samples")
    problem = models.ForeignKey("labeling.Problem", on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    solution = models.ForeignKey("labeling.Solution", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="samples")
    finish_reason = models.CharField(max_length=32, blank=True, default="")
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "problem", "index"], name="one_sample_per_identity"),
            models.CheckConstraint(condition=Q(outcome__in=["kept", "duplicate", "empty", "truncated", "too_long"]),
                                   name="sample_outcome_valid"),
        ]
        indexes = [models.Index(fields=["run", "outcome"], name="sample_run_outcome")]


class BestOfNEvaluation(models.Model):
    """Best-of-N on the samples of a generation run: accuracy of the PRM's pick, the ORM's pick,
    majority vote and a random pick at N = 1, 2, 4, ... (activelearn.policy.best_of_n_runs)."""

    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="evaluations")
    prm_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    orm_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    result = models.JSONField(default=dict, help_text="Per method, accuracy at each N (mean and spread over trials).")
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
