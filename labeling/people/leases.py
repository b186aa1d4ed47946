"""A lease ends with its holder's right to label where it is: removed from the project, a role there that does not
label, an account deactivated. The slot goes back to the queue, as when a lease expires (the draft stays on the
lease; no pass is made), so the task is served to someone else and no label is lost or doubled.

`expire` is the one way a lease ends early (the reaper, next-task, resegmenting and this module call it). Draft,
submit and the other task calls also check the right at the time (labeling.queue.submission): a claim racing the
removal is refused there.
"""
from django.db import connection, transaction

from labeling.models import Annotator, Lease, LeaseStatus, ProjectMember, QueueEntry
from labeling.people.roles import LABEL, ROLE_PERMISSIONS

LABELLING_ROLES = tuple(role for role, perms in ROLE_PERMISSIONS.items() if LABEL in perms)


def _for_update(qs):
    # SKIP LOCKED where the database has it; SQLite serialises writers anyway.
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs


def expire(leases, batch: int | None = None) -> int:
    """Mark these open leases expired and give their slots back to the queue, in one transaction."""
    with transaction.atomic():
        qs = _for_update(leases).values_list("id", "solution_id")
        found = list(qs[:batch] if batch else qs)
        if not found:
            return 0
        Lease.objects.filter(id__in=[lid for lid, _ in found]).update(status=LeaseStatus.EXPIRED)
        for _, solution_id in found:
            entry = QueueEntry.objects.select_for_update().filter(solution_id=solution_id).first()
            if entry is not None and entry.in_flight > 0:
                entry.in_flight -= 1
                entry.refresh_open()
                entry.save(update_fields=["in_flight", "is_open"])
        return len(found)


def labelling_projects(user_id):
    """The ids (a subquery) of the projects where this login's role labels."""
    return ProjectMember.objects.filter(user_id=user_id, role__in=LABELLING_ROLES).values("project_id")


def end_unentitled(user) -> int:
    """End the user's open leases where they may no longer label (every one, for an inactive account or a role
    without the right); returns how many ended."""
    annotator = Annotator.objects.filter(user_id=user.pk).values_list("pk", flat=True).first()
    if annotator is None:
        return 0
    held = Lease.objects.filter(annotator_id=annotator, status=LeaseStatus.OPEN)
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)
    if user.is_active and user.has_perm(LABEL):
        held = held.exclude(solution__project_id__in=labelling_projects(user.pk))
    return expire(held)
