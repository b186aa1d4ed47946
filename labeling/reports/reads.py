"""Read-side queries of pages and the API: dataset totals and the audit trail."""
from django.db.models import QuerySet

from labeling.models import AuditEvent, LabeledPass, Problem, Solution


def dataset_counts() -> dict:
    return {"problems": Problem.objects.count(), "solutions": Solution.objects.count(),
            "passes": LabeledPass.objects.count()}


def audit_events() -> QuerySet:
    """The audit trail, newest first (ties by id: events of one transaction share a timestamp)."""
    return AuditEvent.objects.select_related("project").order_by("-created_at", "-id")
