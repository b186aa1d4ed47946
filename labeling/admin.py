from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from labeling.models import (
    Annotator,
    AuditAction,
    AuditEvent,
    ExportJob,
    ImportJob,
    LabeledPass,
    Lease,
    Problem,
    Project,
    ProjectMember,
    QueueEntry,
    SegmentationReport,
    Solution,
)
from labeling.people import accounts, audit, leases


class ProjectMemberInline(admin.TabularInline):
    model = ProjectMember
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "protocol", "default_overlap", "qc_every", "created_at")
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (ProjectMemberInline,)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for member in [*formset.deleted_objects, *(obj for obj, _ in formset.changed_objects)]:
            leases.end_unentitled(member.user)  # a removed member's open task goes back to the queue


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ("id", "short_text", "ground_truth_answer", "subject", "level", "source_id", "created_at")
    list_filter = ("project", "subject", "level")
    search_fields = ("text", "source_id", "ground_truth_answer")
    readonly_fields = ("content_hash", "created_at")

    @admin.display(description="problem")
    def short_text(self, obj):
        return obj.text[:80]


@admin.register(Solution)
class SolutionAdmin(admin.ModelAdmin):
    list_display = ("id", "problem_id", "n_steps", "final_answer", "answer_is_correct", "generator",
                    "verifier_score", "generation", "is_quality_control", "is_screening")
    list_filter = ("project", "answer_is_correct", "generation", "is_quality_control", "is_screening", "generator")
    search_fields = ("problem__text", "source_id", "final_answer")
    raw_id_fields = ("problem",)
    readonly_fields = ("content_hash", "created_at")

    @admin.display(description="steps")
    def n_steps(self, obj):
        return len(obj.steps)


@admin.register(Annotator)
class AnnotatorAdmin(admin.ModelAdmin):
    list_display = ("uuid", "user", "role", "screening_passed_at", "screening_agreement", "created_at")
    list_filter = ("role",)
    search_fields = ("uuid", "user__username", "user__email")
    raw_id_fields = ("user",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.user is not None:  # the role's group (the permissions) follows the role
            accounts.change_role(obj.user, obj.role, actor=request.user)


@admin.register(LabeledPass)
class LabeledPassAdmin(admin.ModelAdmin):
    list_display = ("id", "annotator", "problem_id", "solution_id", "submitted_at", "generation",
                    "finish_reason", "total_time", "is_quality_control", "is_screening")
    list_filter = ("project", "finish_reason", "generation", "is_quality_control", "is_screening")
    search_fields = ("annotator__uuid", "problem__text")
    raw_id_fields = ("annotator", "problem", "solution")
    readonly_fields = ("natural_key", "client_id", "created_at")
    date_hierarchy = "submitted_at"
    list_select_related = ("annotator__user",)


@admin.register(QueueEntry)
class QueueEntryAdmin(admin.ModelAdmin):
    list_display = ("solution_id", "priority", "overlap", "completed", "in_flight", "is_open", "generation")
    list_filter = ("project", "is_open", "generation")
    raw_id_fields = ("solution",)
    readonly_fields = ("completed", "in_flight", "is_open")


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ("id", "annotator", "solution_id", "reason", "status", "created_at", "expires_at")
    list_filter = ("status", "reason")
    raw_id_fields = ("annotator", "solution", "labeled_pass")


class _JobAdmin(admin.ModelAdmin):
    """Jobs are made through the API and run by the worker: here they are only looked at (or deleted)."""

    list_filter = ("project", "status")
    date_hierarchy = "created_at"
    list_select_related = ("created_by",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportJob)
class ImportJobAdmin(_JobAdmin):
    list_display = ("id", "original_filename", "format", "status", "created_by", "created_at", "finished_at")
    search_fields = ("id", "original_filename", "error_message")


@admin.register(ExportJob)
class ExportJobAdmin(_JobAdmin):
    list_display = ("id", "format", "gzip", "status", "lines", "size", "created_by", "created_at", "finished_at")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read only: the trail is written by labeling.people.audit.record and never edited."""

    list_display = ("created_at", "actor_name", "action", "target_type", "target_label", "source", "request_id")
    list_filter = ("project", "action", "source", "created_at", "actor_name")
    search_fields = ("actor_name", "target_label", "target_id", "request_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


_USER_FIELDS_AUDITED = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions", "username")
User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with who changed activation, staff/superuser flags, groups or
    permissions in the audit trail (roles are better changed on the annotator profile).

    Staff who are not superusers (the admin role) manage logins but never rights: superuser,
    staff, groups and permissions are read-only to them, and superusers' accounts (password
    included) are theirs to view only, so nobody can raise their own rights through this page.
    """

    _RIGHTS = ("is_superuser", "is_staff", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, *self._RIGHTS)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # inside the admin's transaction
        user = form.instance
        if not change:
            audit.record(request.user, AuditAction.USER_CREATE, user, via="django admin")
            return
        changed = {}
        for name in (n for n in form.changed_data if n in _USER_FIELDS_AUDITED):
            value = form.cleaned_data.get(name)
            changed[name] = [str(v) for v in value] if name in ("groups", "user_permissions") else value
        if "is_active" in changed and not user.is_active:
            if ended := leases.end_unentitled(user):
                changed["leases_ended"] = ended
        if changed:
            audit.record(request.user, AuditAction.USER_UPDATE, user, **changed)

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():  # the new password and its event together
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:  # the form was valid and saved
                audit.record(request.user, AuditAction.USER_UPDATE, User.objects.get(pk=id), password="changed")
        return response


@admin.register(SegmentationReport)
class SegmentationReportAdmin(admin.ModelAdmin):
    """Solutions annotators flagged as badly cut into steps (the labelling page's flag)."""

    list_display = ("solution", "project", "annotator", "note", "created_at")
    list_filter = ("solution__project", "created_at")
    raw_id_fields = ("solution", "annotator")
    readonly_fields = ("solution", "annotator", "note", "created_at")

    @admin.display(description="project")
    def project(self, obj):
        return obj.solution.project
