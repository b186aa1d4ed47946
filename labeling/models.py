"""Problems, solutions, annotators and labelled passes.

A labelled pass is one PRM800K record. Its `label.steps` list is kept as JSON exactly
as labelled (order, nulls and unknown keys included) because the pass is always read
and written whole; ratings inside it are still checked by the database on PostgreSQL
(see migration 0002) and by `labeling.formats.prm800k.parse_record` (its `validate_steps`) everywhere.
"""
import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from labeling import checker_config
from labeling.fields import JSONTextField


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    ADMIN = "admin", "Admin"
    ML_STAFF = "ml_staff", "ML staff"


class FinishReason(models.TextChoices):
    FOUND_ERROR = "found_error", "Found an error"
    SOLUTION = "solution", "Reached the solution"
    GIVE_UP = "give_up", "Gave up"
    BAD_PROBLEM = "bad_problem", "Bad problem"


RATINGS = (-1, 0, 1)


DEFAULT_PROJECT_ID = 1  # every row made without a project goes here; migration 0021 put the older data in it


class Protocol(models.TextChoices):
    """How a project's annotators rate steps (PRM800K's two phases, and ratings of every step)."""

    FIRST_ERROR = "first_error", "Stop at the first error (PRM800K phase 2)"
    ALTERNATIVES = "alternatives", "Rate alternatives and write your own step (PRM800K phase 1)"
    EVERY_STEP = "every_step", "Rate every step without stopping"


# automatic label sources the labelling page can suggest from (labeling.models.LabelSource's names); besides
# these, the key of one of the project's imported runs (a labeller's file: `imported:agentprocessbench:<model>`)
SUGGESTION_SOURCES = [("", "No suggestions"), ("prm", "The active PRM"),
                      ("judge", "A judge model (on traces: the trajectory prompt)"),
                      ("rollout", "Monte-Carlo rollouts"), ("first_error", "First-error search")]


def default_error_taxonomy() -> list[str]:
    return ["calculation", "logic", "misread problem", "unjustified claim", "other"]


def validate_error_taxonomy(value) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or len(value) > 30 or not all(
            isinstance(t, str) and 0 < len(t.strip()) <= 60 for t in value):
        raise ValidationError("a list of at most 30 error types, each 1 to 60 characters")
    if len({t.strip() for t in value}) != len(value):
        raise ValidationError("each error type once")


class Project(models.Model):
    """A labelling campaign: its own protocol, people, queue, screening, rounds and models."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    guidelines = models.TextField(blank=True, default="", help_text="Markdown, shown in the labelling page's "
                                                                    "instructions panel.")
    protocol = models.CharField(max_length=16, choices=Protocol.choices, default=Protocol.FIRST_ERROR)
    allow_neutral = models.BooleanField(default=True, help_text="Whether 0 (neutral) is a rating here.")
    first_error_mode = models.BooleanField(default=False, help_text="The labelling page shows every step at once "
                                           "and one key marks the first wrong one (earlier steps +1).")
    suggestion_source = models.CharField(max_length=100, blank=True, default="", help_text=(
        "Show each step's automatic label from this source (prm, judge, rollout, first_error, or the key of one of "
        "the project's imported runs, e.g. imported:agentprocessbench:<model>) as a suggestion the labeller must "
        "confirm or change; empty: no suggestions."))
    outcome_checker = models.JSONField(default=dict, blank=True, help_text=(
        "How a final answer (an agent trace's outcome) is graded: {} for math; {\"kind\": exact, normalised, numeric, "
        "regex, file, unit_tests or judge, and its options} (activelearn.grading.checkers)."))
    error_taxonomy = models.JSONField(default=default_error_taxonomy, blank=True,
                                      validators=[validate_error_taxonomy],
                                      help_text="The error types a -1 step may be given (empty: none asked).")
    default_overlap = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1),
                                                                              MaxValueValidator(100)],
                                                       help_text="Passes wanted per solution queued.")
    qc_every = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)],
                                                help_text="One QC question after this many tasks.")
    screening_threshold = models.FloatField(default=0.8, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
                                            help_text="First-error agreement that passes screening.")
    lease_seconds = models.PositiveIntegerField(default=1800, validators=[MinValueValidator(5),
                                                                          MaxValueValidator(7 * 86400)],
                                                help_text="A claimed task returns to the queue after this long.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(protocol__in=Protocol.values), name="project_protocol_valid"),
                       models.CheckConstraint(condition=Q(default_overlap__gte=1), name="project_overlap_positive"),
                       models.CheckConstraint(condition=Q(qc_every__gte=1), name="project_qc_every_positive"),
                       models.CheckConstraint(condition=Q(lease_seconds__gte=5), name="project_lease_5s"),
                       models.CheckConstraint(condition=Q(screening_threshold__gte=0, screening_threshold__lte=1),
                                              name="project_threshold_0_1")]

    def __str__(self):
        return self.slug

    def clean(self):
        """The settings one field cannot check alone: the outcome checker's options (labeling.checker_config, as
        grading reads them), and a suggestion source that is a source's name or an imported run of this project."""
        from django.core.exceptions import ValidationError

        errors = {}
        try:
            checker_config.validate(self.outcome_checker)
        except checker_config.CheckerError as exc:
            errors["outcome_checker"] = str(exc)
        source = self.suggestion_source
        if source and source not in dict(SUGGESTION_SOURCES) and not (
                self.pk is not None and AutoLabelRun.objects.filter(project_id=self.pk, key=source,
                                                                    source=LabelSource.IMPORTED).exists()):
            errors["suggestion_source"] = (f"must be one of {', '.join(k for k, _ in SUGGESTION_SOURCES if k)} or the "
                                           "key of an imported run of this project (imported:...)")
        if errors:
            raise ValidationError(errors)


class ProjectMember(models.Model):
    """A person's role in one project; superusers see every project without being members."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_roles")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    # Passing this project's screening set opens its queue; an admin's approval on the annotator (their
    # screening_passed_at) opens every project's.
    screening_passed_at = models.DateTimeField(null=True, blank=True)
    screening_agreement = models.FloatField(null=True, blank=True, help_text="First-error agreement with the "
                                                                             "project's screening gold.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="project_member_once"),
                       models.CheckConstraint(condition=Q(role__in=Role.values), name="project_member_role_valid")]

    def __str__(self):
        return f"{self.user} in {self.project} ({self.role})"


def project_field(related_name: str = "+"):
    """The project a row belongs to; rows made without one (and raw SQL that names none) go to the default."""
    return models.ForeignKey(Project, on_delete=models.PROTECT, related_name=related_name,
                             default=DEFAULT_PROJECT_ID, db_default=DEFAULT_PROJECT_ID)


class Problem(models.Model):
    project = project_field("problems")
    text = models.TextField()
    ground_truth_answer = models.TextField(null=True, blank=True)
    ground_truth_solution = models.TextField(null=True, blank=True)
    subject = models.CharField(max_length=100, blank=True, default="")
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    source_id = models.CharField(max_length=255, blank=True, default="", db_index=True,
                                 help_text="Identifier in the source data set, e.g. MATH unique_id.")
    content_hash = models.CharField(max_length=64, editable=False,
                                    help_text="sha256 of the problem text (unique within its project).")
    extra = models.JSONField(default=dict, blank=True,
                             help_text="What a generator knows of the problem (the demo's parameters).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        # the same problem text may be in two projects, once in each (imports find it by project and hash)
        constraints = [models.UniqueConstraint(fields=["project", "content_hash"], name="problem_once_per_project")]

    def __str__(self):
        return f"#{self.pk} {self.text[:60]}"


class Solution(models.Model):
    """A model-written solution to label: ordered steps and the answer it reached."""

    project = project_field("solutions")
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="solutions")
    steps = JSONTextField(help_text="List of step texts, in order.")
    final_answer = models.TextField(null=True, blank=True)
    answer_is_correct = models.BooleanField(null=True, blank=True)
    answer_graded_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the final answer was graded automatically; null = not graded or graded by a person/the source.")
    generator = models.CharField(max_length=255, blank=True, default="")
    source_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    verifier_score = models.FloatField(null=True, blank=True,
                                       help_text="Score of the model that selected it for labelling.")
    generation = models.IntegerField(null=True, blank=True,
                                     help_text="Active-learning round that queued it; -1 = screening set.")
    is_quality_control = models.BooleanField(default=False)
    is_screening = models.BooleanField(default=False)
    content_hash = models.CharField(max_length=64, editable=False, help_text="Unique within its project.")
    gold_first_error = models.IntegerField(null=True, blank=True,
                                           help_text="QC/screening gold label: first wrong step, -1 if none.")
    extra = models.JSONField(default=dict, blank=True, help_text="Unknown keys from the imported record.")
    # A segmentation version's first solution (labeling/queue/resegment.py): one content, one pass per person, across
    # its versions; the claim looks the family up by this index.
    origin = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="versions",
                               help_text="The solution this one is a segmentation version of (the first of them).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        # next-task looks these small sets up on every call; without an index that is a scan
        # of every solution (measured by bench/annotators.py at 10^6 queued).
        indexes = [models.Index(fields=["id"], condition=Q(is_screening=True), name="solution_screening_set"),
                   models.Index(fields=["id"], condition=Q(is_quality_control=True), name="solution_qc_set")]
        constraints = [models.UniqueConstraint(fields=["project", "content_hash"], name="solution_once_per_project")]

    def __str__(self):
        return f"Solution #{self.pk} of problem #{self.problem_id} ({len(self.steps)} steps)"


class Annotator(models.Model):
    """A labeller: a login (when they label in Stepwise) and a stable public UUID."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="annotator")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    screening_passed_at = models.DateTimeField(null=True, blank=True,
                                               help_text="Set when the screening set is passed or an admin approves.")
    screening_agreement = models.FloatField(null=True, blank=True, help_text="First-error agreement with gold.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(role__in=Role.values), name="annotator_role_valid")]
        # What each role may do; labeling.people.roles gives these to the role's group. The API and
        # the HTML views both check them with user.has_perm, so the two cannot disagree.
        permissions = [
            ("label_task", "Can label tasks from the queue"),
            ("view_data", "Can browse problems and solutions, gold labels included"),
            ("import_data", "Can import problems, solutions and labels"),
            ("export_data", "Can export labels"),
            ("view_quality", "Can see annotator statistics and agreement"),
            ("manage_users", "Can create users, change roles and decide screening"),
        ]

    def __str__(self):
        return f"{self.user.username if self.user else 'external'} ({self.uuid})"


class LabeledPass(models.Model):
    """One annotator's pass over one solution: one PRM800K record."""

    project = project_field("passes")
    annotator = models.ForeignKey(Annotator, on_delete=models.PROTECT, related_name="passes")
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="passes")
    solution = models.ForeignKey(Solution, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="passes",
                                 help_text="Empty for phase-1 style passes (labellers chose among generated steps).")
    submitted_at = models.DateTimeField(db_index=True)
    generation = models.IntegerField(null=True, blank=True, db_index=True)
    is_quality_control = models.BooleanField(default=False)
    is_screening = models.BooleanField(default=False)
    verifier_score = models.FloatField(null=True, blank=True, help_text="Selecting model's score when served.")
    steps = JSONTextField(help_text="label.steps: completions with rating/flagged, human and chosen completion.")
    total_time = models.BigIntegerField(null=True, blank=True, help_text="Milliseconds spent on the pass.")
    finish_reason = models.CharField(max_length=16, choices=FinishReason.choices)
    first_error = models.IntegerField(null=True, blank=True, help_text="First step rated -1 on the solution's path, "
                                      "-1 if none (a `solution` pass); null when the pass ended otherwise (kept as a "
                                      "column so agreement figures are aggregates).")
    reason_text = models.TextField(blank=True, default="",
                                   help_text="Why the annotator gave up or reported the problem.")
    step_notes = models.JSONField(default=dict, blank=True, help_text="Per -1 step (by index): its error type and "
                                  "the labeller's rationale. Not in a PRM800K record unless asked for.")
    suggestions = models.JSONField(default=dict, blank=True, help_text="The automatic labels the page suggested "
                                   "(source, run, per step) and, per rated step, whether the labeller kept them.")
    natural_key = models.CharField(max_length=64, editable=False,
                                   help_text="Identity used to make imports idempotent (unique within its project).")
    client_id = models.UUIDField(null=True, blank=True, unique=True,
                                 help_text="Client-generated submit id: a retried submit lands once.")
    extra = models.JSONField(default=dict, blank=True,
                             help_text="Unknown or non-canonical keys of the imported record, per section.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "labelled passes"
        constraints = [
            models.CheckConstraint(condition=Q(finish_reason__in=FinishReason.values), name="pass_finish_reason_valid"),
            models.CheckConstraint(condition=Q(total_time__isnull=True) | Q(total_time__gte=0),
                                   name="pass_total_time_nonneg"),
            models.UniqueConstraint(fields=["project", "natural_key"], name="pass_once_per_project"),
        ]

    def __str__(self):
        return f"Pass #{self.pk} by {self.annotator.uuid} ({self.finish_reason})"


class ServeReason(models.TextChoices):
    SCREENING = "screening", "Screening question"
    QC = "qc", "Quality-control question"
    PRIORITY = "priority", "Next by queue priority"
    OVERLAP = "overlap", "Another independent pass"


class LeaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted"
    EXPIRED = "expired", "Expired"


class QueueEntry(models.Model):
    """A solution waiting for `overlap` independent passes, served by priority.

    `completed` and `in_flight` change in the same transaction as the lease or the pass
    they count; `is_open` (room for another claim) is kept with them so that next-task is
    one indexed query.
    """

    project = project_field("queue")  # the claim's index starts with it (one queue per project)
    solution = models.OneToOneField(Solution, on_delete=models.CASCADE, related_name="queue_entry")
    priority = models.FloatField(default=0.0, help_text="Higher is served first; rounds set it from the PRM score.")
    overlap = models.PositiveSmallIntegerField(default=1, help_text="Independent passes wanted.")
    completed = models.PositiveIntegerField(default=0)
    in_flight = models.PositiveIntegerField(default=0)
    is_open = models.BooleanField(default=True)
    generation = models.IntegerField(null=True, blank=True)
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "queue entries"
        # the claim walks one project's open entries, best first (statements.claim)
        indexes = [models.Index("project", F("priority").desc(), "id", condition=Q(is_open=True),
                                name="queue_open_by_project"),
                   models.Index(fields=["id"], condition=Q(in_flight__gt=0), name="queue_leased")]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="queue_overlap_positive"),
            models.CheckConstraint(condition=Q(in_flight__lte=F("overlap")), name="queue_in_flight_within_overlap"),
        ]

    def refresh_open(self) -> None:
        self.is_open = self.completed + self.in_flight < self.overlap


class Lease(models.Model):
    """One annotator's claim on one solution, with an expiry; holds the draft until submit."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="leases")
    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="leases")
    reason = models.CharField(max_length=16, choices=ServeReason.choices)
    status = models.CharField(max_length=16, choices=LeaseStatus.choices, default=LeaseStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    draft = models.JSONField(default=dict, blank=True, help_text="Ratings so far and active time, saved per step.")
    labeled_pass = models.OneToOneField(LabeledPass, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="lease")

    class Meta:
        constraints = [
            # A solution never reaches the same annotator twice.
            models.UniqueConstraint(fields=["annotator", "solution"], name="lease_once_per_annotator"),
            # One task at a time: concurrent next-task calls of one annotator cannot both claim.
            models.UniqueConstraint(fields=["annotator"], condition=Q(status="open"),
                                    name="lease_one_open_per_annotator"),
            models.CheckConstraint(condition=Q(reason__in=ServeReason.values), name="lease_reason_valid"),
            models.CheckConstraint(condition=Q(status__in=LeaseStatus.values), name="lease_status_valid"),
        ]
        indexes = [models.Index(fields=["expires_at"], condition=Q(status="open"), name="lease_open_by_expiry"),
                   # next-task's count since the last QC question reads it newest first (statements.state)
                   models.Index(fields=["annotator", "status", "created_at"], name="lease_annotator_status_created")]


class RunStatus(models.TextChoices):
    """The one status vocabulary of work done in the background: rounds (all of it), import and export jobs
    (JOB_STATUSES), generation and automatic-label runs (RUN_STATUSES)."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


def status_choices(*statuses: RunStatus) -> list[tuple[str, str]]:
    """A status field's choices: the part of RunStatus a model uses."""
    return [(s.value, s.label) for s in statuses]


# a job waits for a worker and is never cancelled; a run starts running (a command or a worker is on it)
JOB_STATUSES = status_choices(RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.FAILED)
RUN_STATUSES = status_choices(RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.FAILED)


class ImportFormat(models.TextChoices):
    AUTO = "auto", "Detect from the first record"
    PRM800K = "prm800k", "PRM800K labelled solutions"
    JSONL = "jsonl", "Stepwise JSONL solutions"
    MATH = "math", "MATH problems"
    PROCESSBENCH = "processbench", "ProcessBench"
    STEPWISE_CRITIC = "stepwise-critic", "PRM800K phase 1, flat stepwise-critic rows (JSONL or Parquet)"
    MATH_SHEPHERD = "math-shepherd", "Math-Shepherd (automatic labels)"


class ExportFormat(models.TextChoices):
    PRM800K = "prm800k", "PRM800K JSONL"
    TRL = "trl", "TRL stepwise supervision"
    STEP_LABELS = "step-labels", "Step labels by source, with provenance"
    PROCESSBENCH = "processbench", "ProcessBench records (earliest wrong step) by source"


class Job(models.Model):
    """A background import or export (labeling.jobs.background), polled through the API.

    UUID ids so that job URLs cannot be enumerated. `file_path` is the server-side file and
    is never serialised; errors name the file as uploaded instead.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = project_field()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=JOB_STATUSES, default=RunStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs started (a lost worker's task is re-run).")
    options = models.JSONField(default=dict, blank=True, help_text="Parameters of the job as requested.")
    stats = models.JSONField(default=dict, blank=True, help_text="What the job did: counts.")
    error_message = models.TextField(blank=True, default="")
    error_file = models.CharField(max_length=255, blank=True, default="", help_text="File name as uploaded.")
    error_line = models.PositiveIntegerField(null=True, blank=True, help_text="Line (or record) number.")
    error_field = models.CharField(max_length=255, blank=True, default="", help_text="Dotted path in the record.")
    file_path = models.CharField(max_length=1024, blank=True, default="", editable=False,
                                 help_text="Server-side file; never shown through the API.")

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class ImportJob(Job):
    format = models.CharField(max_length=16, choices=ImportFormat.choices, default=ImportFormat.AUTO)
    original_filename = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0, help_text="Bytes uploaded.")

    class Meta(Job.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[v for v, _ in JOB_STATUSES]),
                                   name="importjob_status_valid"),
            models.CheckConstraint(condition=Q(format__in=ImportFormat.values), name="importjob_format_valid"),
        ]

    def __str__(self):
        return f"import {self.original_filename} ({self.status})"


class ExportJob(Job):
    """`options` holds the filters: generations, include_qc, neutral (TRL only)."""

    format = models.CharField(max_length=16, choices=ExportFormat.choices, default=ExportFormat.PRM800K)
    gzip = models.BooleanField(default=False)
    lines = models.BigIntegerField(null=True, blank=True)
    size = models.BigIntegerField(null=True, blank=True, help_text="Bytes written (compressed if gzip).")

    class Meta(Job.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[v for v, _ in JOB_STATUSES]),
                                   name="exportjob_status_valid"),
            models.CheckConstraint(condition=Q(format__in=ExportFormat.values), name="exportjob_format_valid"),
        ]

    def __str__(self):
        return f"export {self.format} ({self.status})"


class AuditAction(models.TextChoices):
    IMPORT = "data.import", "Imported a file"
    EXPORT = "data.export", "Exported labels"
    USER_CREATE = "user.create", "Created a user"
    USER_UPDATE = "user.update", "Changed a user (active, password, staff/superuser, groups)"
    ROLE_CHANGE = "role.change", "Changed a role"
    SCREENING_APPROVE = "screening.approve", "Approved a screening"
    SCREENING_RESET = "screening.reset", "Reset a screening"
    TOKEN_CREATE = "token.create", "Created an API token"
    TOKEN_REVOKE = "token.revoke", "Revoked an API token"
    ROUND_START = "round.start", "Started a round"
    ROUND_CANCEL = "round.cancel", "Cancelled a round"
    ROUND_RESUME = "round.resume", "Resumed a round"
    MODEL_ACTIVATE = "model.activate", "Activated a model version"
    CONNECTION_CREATE = "connection.create", "Created a policy connection"
    CONNECTION_UPDATE = "connection.update", "Changed a policy connection"
    CONNECTION_DELETE = "connection.delete", "Deleted a policy connection"
    GENERATION_RUN = "generation.run", "Sampled candidates from a policy (generate_solutions)"
    LABELS_RUN = "labels.run", "Started an automatic labelling run"
    PROJECT_CREATE = "project.create", "Created a project"
    PROJECT_UPDATE = "project.update", "Changed a project's settings"
    MEMBER_SET = "project.member", "Added a project member or changed their role"
    MEMBER_REMOVE = "project.member_remove", "Removed a project member"


class AuditSource(models.TextChoices):
    WEB = "web", "HTML pages"
    API = "api", "REST API"
    ADMIN = "admin", "Django admin"
    CLI = "cli", "Management command or shell"
    WORKER = "worker", "Celery worker"


class AuditEventQuerySet(models.QuerySet):
    """Append-only: no bulk rewrites or deletes through the ORM (PostgreSQL also refuses them, see
    migration 0009; only the actor's SET_NULL on user deletion may touch a row)."""

    def update(self, **kwargs):
        raise TypeError("audit events are append-only")

    def delete(self):
        raise TypeError("audit events are append-only")


class AuditEvent(models.Model):
    """Who did what, to what, when and from where (labeling.people.audit.record writes these, in the
    same transaction as the change they describe)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(max_length=150, help_text="The actor's username then (kept if the user is "
                                  "deleted); 'os:NAME' for a command run without --actor; 'system' for the worker.")
    source = models.CharField(max_length=8, choices=AuditSource.choices)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target_type = models.CharField(max_length=64, blank=True, default="", help_text="e.g. auth.user, "
                                   "activelearn.round, file.")
    target_id = models.CharField(max_length=64, blank=True, default="")
    target_label = models.CharField(max_length=255, blank=True, default="")
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder,
                               help_text="What changed: counts, filters, old and new values. Never a secret.")
    request_id = models.CharField(max_length=64, blank=True, default="",
                                  help_text="X-Request-ID of the request that did it: find its log lines.")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="The project it happened in; empty for the instance's own (people, tokens).")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["action", "-created_at"], name="audit_action_time"),
                   models.Index(fields=["actor_name", "-created_at"], name="audit_actor_time"),
                   models.Index(fields=["target_type", "target_id"], name="audit_target"),
                   models.Index(fields=["project", "-created_at"], name="audit_project_time")]
        constraints = [models.CheckConstraint(condition=Q(action__in=AuditAction.values), name="audit_action_valid"),
                       models.CheckConstraint(condition=Q(source__in=AuditSource.values), name="audit_source_valid")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.target_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are append-only")


class LabelSource(models.TextChoices):
    """Where step labels come from besides people (docs/method.md and FIELD.md's methods)."""

    ROLLOUT = "rollout", "Monte-Carlo rollouts (Math-Shepherd)"
    FIRST_ERROR = "first_error", "First-error search over rollouts (OmegaPRM)"
    JUDGE = "judge", "A judge model (earliest wrong step)"
    PRM = "prm", "A trained PRM's step scores at a threshold"
    IMPORTED = "imported", "Imported automatic labels (Math-Shepherd files)"


class AutoLabelRun(models.Model):
    """One run of one automatic labeller over a set of solutions: what it was, and what it cost.

    `params` holds the labeller's parameters and the model it asked (a connection's public part:
    never a key); `labeller_version` changes when a labeller's method changes, so labels of two
    versions are never mistaken for each other."""

    project = project_field("label_runs")
    key = models.CharField(max_length=100, unique=True)
    source = models.CharField(max_length=16, choices=LabelSource.choices)
    labeller_version = models.CharField(max_length=32)
    model = models.CharField(max_length=255, blank=True, default="", help_text="The model that labelled, by name.")
    params = models.JSONField(default=dict)
    generation = models.IntegerField(null=True, blank=True, help_text="The round whose auto-label stage ran it.")
    status = models.CharField(max_length=16, choices=RUN_STATUSES, default=RunStatus.RUNNING)
    solutions = models.PositiveIntegerField(default=0, help_text="Solutions the run was asked to label.")
    requests = models.PositiveBigIntegerField(default=0)
    retries = models.PositiveBigIntegerField(default=0)
    failed_requests = models.PositiveBigIntegerField(default=0, help_text="Requests refused or unanswered.")
    rollouts = models.PositiveBigIntegerField(default=0, help_text="Continuations sampled (rollout sources).")
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    request_seconds = models.FloatField(default=0.0)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=LabelSource.values), name="autolabel_source_valid"),
            models.CheckConstraint(condition=Q(status__in=[v for v, _ in RUN_STATUSES]),
                                   name="autolabel_status_valid"),
        ]

    def __str__(self):
        return f"{self.source} {self.key} ({self.status})"


class StepLabels(models.Model):
    """A solution's automatic step labels from one run.

    `hard`: per step -1, 0, +1 or null (not labelled); `soft`: per step the share of rollouts that
    reached the right answer (or the PRM's step score), where the method gives one; `first_error`:
    the first hard -1 (-1 if none; null for a malformed judge answer, which is never a label)."""

    run = models.ForeignKey(AutoLabelRun, on_delete=models.CASCADE, related_name="labels")
    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="auto_labels")
    n_steps = models.PositiveIntegerField()
    hard = models.JSONField(null=True, blank=True)
    soft = models.JSONField(null=True, blank=True)
    first_error = models.IntegerField(null=True, blank=True)
    malformed = models.BooleanField(default=False, help_text="The judge's answer could not be read: no label.")
    attempts = models.PositiveIntegerField(default=1, help_text="Judge attempts, or rollout probes.")
    rollouts = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True, help_text="Per step rollouts and right answers, or the "
                              "judge's verdicts and rationale (trimmed).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "step labels"
        constraints = [models.UniqueConstraint(fields=["run", "solution"], name="one_label_per_run_and_solution")]
        indexes = [models.Index(fields=["solution"], name="steplabels_solution")]


class SegmentationReport(models.Model):
    """An annotator's "this solution is badly cut into steps" (the labelling page's flag), for admins."""

    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="segmentation_reports")
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="+")
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["solution", "annotator"], name="one_report_per_annotator")]

    def __str__(self):
        return f"bad segmentation of solution #{self.solution_id}"
