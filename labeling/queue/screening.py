"""Screening: the fixed set every new annotator labels first, scored against its gold labels.

Passing it (first-error agreement at or above the threshold of the projects whose screening questions were
answered: the highest of them) or an admin's approval opens the regular queue."""
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from labeling import audit
from labeling.formats.prm800k import first_error
from labeling.models import Annotator, AuditAction, Lease, LeaseStatus, ServeReason


@transaction.atomic
def decide_screening(annotator: Annotator, action: str, *, actor=None) -> None:
    before = {"screening_passed_at": annotator.screening_passed_at, "agreement": annotator.screening_agreement}
    if action == "approve":
        approve_screening(annotator)
        event = AuditAction.SCREENING_APPROVE
    elif action == "reset":
        reset_screening(annotator)
        event = AuditAction.SCREENING_RESET
    else:
        raise ValueError("action must be approve or reset")
    audit.record(actor, event, annotator.user or annotator, annotator=annotator.uuid, before=before)


def approve_screening(annotator: Annotator) -> None:
    """An admin lets the annotator through, whatever the screening score."""
    annotator.screening_passed_at = timezone.now()
    annotator.save(update_fields=["screening_passed_at"])


@transaction.atomic
def reset_screening(annotator: Annotator) -> None:
    """The annotator does the screening set again; their earlier screening passes stay on record."""
    Lease.objects.filter(annotator=annotator, reason=ServeReason.SCREENING).delete()
    annotator.screening_passed_at = None
    annotator.screening_agreement = None
    annotator.save(update_fields=["screening_passed_at", "screening_agreement"])


def score_screening(annotator: Annotator) -> bool:
    """Agreement on the screening set (first wrong step equal to gold); pass at the threshold (the projects')."""
    answered = annotator.leases.filter(reason=ServeReason.SCREENING, status=LeaseStatus.SUBMITTED)
    leases = answered.select_related("labeled_pass", "solution")
    pairs = [(first_error(lease.labeled_pass.steps), lease.solution.gold_first_error) for lease in leases
             if lease.labeled_pass and lease.solution.gold_first_error is not None]
    agreement = sum(a == b for a, b in pairs) / len(pairs) if pairs else 1.0
    annotator.screening_agreement = agreement
    threshold = answered.aggregate(t=Max("solution__project__screening_threshold"))["t"]
    if agreement >= (threshold if threshold is not None else 1.0):
        annotator.screening_passed_at = timezone.now()
    annotator.save(update_fields=["screening_agreement", "screening_passed_at"])
    return annotator.screening_passed_at is not None
