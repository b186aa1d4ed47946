"""Screening: each project's fixed set every new member labels first, scored against its gold labels.

Passing a project's set (first-error agreement at or above its threshold) opens that project's queue (recorded
on the membership); an admin's approval of the annotator opens every project's."""
from django.db import transaction
from django.utils import timezone

from labeling.formats.prm800k import first_error
from labeling.models import Annotator, AuditAction, Lease, LeaseStatus, Project, ProjectMember, ServeReason
from labeling.people import audit


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
    """The annotator does the screening sets again (every project's); their earlier screening passes stay on
    record."""
    Lease.objects.filter(annotator=annotator, reason=ServeReason.SCREENING).delete()
    if annotator.user_id is not None:
        ProjectMember.objects.filter(user_id=annotator.user_id).update(screening_passed_at=None,
                                                                       screening_agreement=None)
    annotator.screening_passed_at = None
    annotator.screening_agreement = None
    annotator.save(update_fields=["screening_passed_at", "screening_agreement"])


def score_screening(annotator: Annotator, project: int) -> bool:
    """Agreement on the project's screening set (first wrong step equal to gold); pass at its threshold. The
    outcome goes on the annotator's membership (and the agreement on the annotator too, for the quality page)."""
    leases = annotator.leases.filter(reason=ServeReason.SCREENING, status=LeaseStatus.SUBMITTED,
                                     solution__project_id=project).select_related("labeled_pass", "solution")
    pairs = [(first_error(lease.labeled_pass.steps), lease.solution.gold_first_error) for lease in leases
             if lease.labeled_pass and lease.solution.gold_first_error is not None]
    agreement = sum(a == b for a, b in pairs) / len(pairs) if pairs else 1.0
    threshold = Project.objects.values_list("screening_threshold", flat=True).get(pk=project)
    passed = agreement >= threshold
    ProjectMember.objects.filter(project_id=project, user_id=annotator.user_id).update(
        screening_agreement=agreement, screening_passed_at=timezone.now() if passed else None)
    annotator.screening_agreement = agreement
    annotator.save(update_fields=["screening_agreement"])
    return passed
