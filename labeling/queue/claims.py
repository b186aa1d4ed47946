"""The labelling queue: the next task, queueing solutions, and reaping expired leases.

Next task, in order: the caller's own open lease (two tabs get the same task); the
screening set for annotators who have not passed it; a QC question after every
`qc_every` regular tasks (the project's); then the open queue entry of highest priority that this
annotator has never been served, claimed with SELECT ... FOR UPDATE SKIP LOCKED so that
concurrent claimers never take the same slot. Counters change in the claim's transaction.
A lease lasts its project's `lease_seconds`.
"""
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling.models import (
    DEFAULT_PROJECT_ID,
    Annotator,
    Lease,
    LeaseStatus,
    Project,
    ProjectMember,
    QueueEntry,
    ServeReason,
    Solution,
)
from labeling.people import leases
from labeling.queue import statements
from labeling.queue.screening import score_screening
from labeling.storage.bulk import among, insert_rows


@dataclass(frozen=True)
class NoTask:
    """Why there is nothing to label: all_done, waiting (others hold the rest), screening_review."""

    reason: str
    message: str


def _expiry(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)


def _for_update(qs):
    # SKIP LOCKED where the database has it; SQLite serialises writers anyway.
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs


def open_lease(annotator: Annotator, now: datetime | None = None) -> Lease | None:
    now = now or timezone.now()
    return annotator.leases.filter(status=LeaseStatus.OPEN, expires_at__gt=now).order_by("created_at").first()


def _unserved(annotator: Annotator, qs, field: str = "id"):
    """`qs` (of solutions, or of rows pointing at one by `field`) minus what this annotator was ever served, and
    every segmentation version of it (one pass per person and content: the versions share an `origin`)."""
    served = Lease.objects.filter(annotator=annotator).values("solution_id")
    origins = Solution.objects.filter(id__in=served).annotate(root=Coalesce("origin_id", "id")).values("root")
    origin = "origin_id" if field == "id" else f"{field.removesuffix('_id')}__origin_id"
    return (qs.exclude(**{f"{field}__in": served}).exclude(**{f"{field}__in": origins})
            .exclude(**{f"{origin}__in": origins}))


def _lease_fixed(annotator: Annotator, solutions, reason: str, now: datetime) -> Lease | None:
    """Screening and QC solutions go to every annotator once; they are not counted against overlap."""
    solution = _unserved(annotator, solutions).select_related("project").order_by("id").first()
    if solution is None:
        return None
    try:
        with transaction.atomic():
            return Lease.objects.create(annotator=annotator, solution=solution, reason=reason,
                                        expires_at=_expiry(now, solution.project.lease_seconds))
    except IntegrityError:  # the same annotator in another tab got there first (one open lease each)
        return open_lease(annotator, now)


def _claim(annotator: Annotator, now: datetime, projects: list[int]) -> Lease | None:
    try:
        with transaction.atomic():
            entry = _for_update(_unserved(annotator, QueueEntry.objects.filter(is_open=True, project_id__in=projects)
                                          .order_by("-priority", "id"), "solution_id")
                                .values_list("id", flat=True)).first()
            if entry is None:
                return None
            entry = QueueEntry.objects.select_for_update().get(id=entry)
            reason = ServeReason.OVERLAP if entry.completed + entry.in_flight else ServeReason.PRIORITY
            seconds = Project.objects.values_list("lease_seconds", flat=True).get(pk=entry.project_id)
            lease = Lease.objects.create(annotator=annotator, solution_id=entry.solution_id, reason=reason,
                                         expires_at=_expiry(now, seconds))
            entry.in_flight += 1
            entry.refresh_open()
            entry.save(update_fields=["in_flight", "is_open"])
            return lease
    except IntegrityError:
        # A concurrent request of the same annotator claimed first: the database allows one open
        # lease per annotator (lease_one_open_per_annotator), so both requests get that one.
        return open_lease(annotator, now)


def _regular_since_last_qc(annotator: Annotator) -> int:
    done = annotator.leases.filter(status=LeaseStatus.SUBMITTED)
    last_qc = done.filter(reason=ServeReason.QC).order_by("-created_at").values_list("created_at", flat=True).first()
    regular = done.filter(reason__in=[ServeReason.PRIORITY, ServeReason.OVERLAP])
    return (regular.filter(created_at__gt=last_qc) if last_qc else regular).count()


class NotAMember(Exception):
    """Next-task asked for a project the annotator is not a member of (or that does not exist)."""


def member_projects(annotator: Annotator) -> list[int]:
    if annotator.user_id is None:  # an imported labeller: no login, no project to label in
        return []
    return list(ProjectMember.objects.filter(user_id=annotator.user_id, role__in=leases.LABELLING_ROLES)
                .order_by("project_id").values_list("project_id", flat=True))


def next_task(annotator: Annotator, now: datetime | None = None, project: int | None = None) -> Lease | NoTask:
    """The annotator's open lease, else the next task in `project` (an id), else across every project they are a
    member of, highest priority first. Raises NotAMember for a project that is not theirs."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _next_task_in_one(annotator, now, project)
    current = annotator.leases.filter(status=LeaseStatus.OPEN).first()  # at most one: a unique index
    if current is not None:
        entitled = Solution.objects.filter(pk=current.solution_id, project_id__in=member_projects(annotator)).exists()
        if current.expires_at > now and entitled:
            return current
        # It ran out and the reaper has not reached it yet (or its holder left its project since the claim): its
        # slot goes back before a new claim.
        _expire(Lease.objects.filter(pk=current.pk, status=LeaseStatus.OPEN))
    projects = _scope(member_projects(annotator), project)
    every = Project.objects.filter(pk__in=projects).aggregate(m=Min("qc_every"))["m"]
    return _next_after_leases(annotator, now, _regular_since_last_qc, projects, every,
                              lambda: _unscreened(annotator))


def _unscreened(annotator: Annotator) -> list[int]:
    return list(ProjectMember.objects.filter(user_id=annotator.user_id, screening_passed_at__isnull=True)
                .values_list("project_id", flat=True))


def _scope(members: list[int], project: int | None) -> list[int]:
    if project is None:
        return members
    if project not in members:
        raise NotAMember(project)
    return [project]


def _next_task_in_one(annotator: Annotator, now: datetime, project: int | None) -> Lease | NoTask:
    """next_task on PostgreSQL: one query for the state (with the member projects), one for the task."""
    open_id, expires, since_qc, members, every, unscreened = statements.state(annotator.pk, annotator.user_id,
                                                                              project)
    projects = _scope(members, project)
    if open_id is not None:
        # None: no longer theirs to work (removed from its project since the claim), so it ends like an expired one
        if expires > now and (lease := statements.lease_for(open_id, annotator.pk, lock=False, client_id=None)):
            return lease
        _expire(Lease.objects.filter(pk=open_id, status=LeaseStatus.OPEN))
    return _next_after_leases(annotator, now, lambda _: since_qc, projects, every, lambda: unscreened)


def _claim_in_one(annotator: Annotator, now: datetime, projects: list[int]) -> Lease | None:
    try:
        # a savepoint only inside a transaction (a test's); in autocommit the statement is its own
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            return statements.claim(annotator.pk, projects, now)
    except IntegrityError:  # the same annotator's other request claimed first: both get that lease
        return open_lease(annotator, now)


def _next_after_leases(annotator: Annotator, now: datetime, since_qc, projects: list[int],
                       every: int | None, unscreened) -> Lease | NoTask:
    """Screening, then a QC question when one is due (`every` regular tasks: the project's interval, the shortest
    of them across several), then the queue (no open lease is left), all within `projects`. Screening is per
    project: a project's set, answered and passed (or an admin's approval of the annotator), opens its queue;
    `unscreened()` names the member projects not passed yet."""
    if not projects:
        return NoTask("no_project", "You are not a member of any project yet: an admin of one can add you.")
    if annotator.screening_passed_at is None and (pending := [p for p in unscreened() if p in projects]):
        screening = Solution.objects.filter(project_id__in=pending, is_screening=True)
        if lease := _lease_fixed(annotator, screening, ServeReason.SCREENING, now):
            return lease
        with_sets = set(screening.order_by().values_list("project_id", flat=True).distinct())
        blocked = [p for p in pending if p in with_sets and not score_screening(annotator, p)]
        projects = [p for p in projects if p not in blocked]
        if not projects:
            return NoTask("screening_review", "Your screening answers are with an admin for review.")
    solutions = Solution.objects.filter(project_id__in=projects)
    if every is not None and since_qc(annotator) >= every:
        if lease := _lease_fixed(annotator, solutions.filter(is_quality_control=True), ServeReason.QC, now):
            return lease
    if lease := (_claim_in_one if connection.vendor == "postgresql" else _claim)(annotator, now, projects):
        return lease
    # Passes still missing = an entry open to others or one with leases out (two indexed lookups;
    # `completed < overlap` itself would scan the whole queue).
    queue = QueueEntry.objects.filter(project_id__in=projects)
    if queue.filter(is_open=True).exists() or queue.filter(in_flight__gt=0).exists():
        return NoTask("waiting", "Nothing for you right now: the remaining tasks are with other annotators or need "
                                 "someone who has not seen them. Leases that expire come back to the queue.")
    return NoTask("all_done", "Everything queued is labelled. New tasks arrive with the next active-learning round.")


_expire = leases.expire


def reap_expired(now: datetime | None = None, batch: int = 500) -> int:
    """Return the slots of expired open leases to the queue; called by a beat task."""
    now = now or timezone.now()
    reaped = 0
    while n := _expire(Lease.objects.filter(status=LeaseStatus.OPEN, expires_at__lte=now), batch):
        reaped += n
    return reaped


def enqueue(solutions, *, overlap: int = 1, priority: float | None = None, generation: int | None = None) -> int:
    """Put solutions in the queue (again); priority defaults to the imported order (earlier first).

    Re-queueing raises the overlap and priority of an entry; it never lowers counters.
    """
    return enqueue_ids([(s.pk, priority) for s in solutions], overlap=overlap, generation=generation)


def enqueue_ids(entries, *, overlap: int = 1, generation: int | None = None, chunk: int = 2000,
                new: bool = False) -> int:
    """(solution id, priority or None) pairs into the queue, a chunk at a time: one query finds the entries
    already there (locked: a claim may be changing their counters), one the new ones' projects (their
    solutions'), one writes them (COPY on PostgreSQL), one updates the old ones. `new`: the solutions were
    created in this transaction, so none has an entry yet (and no other transaction can see them to make
    one). Returns how many were created."""
    entries = list(dict(entries).items())  # one per solution, its last priority
    created = 0
    for i in range(0, len(entries), chunk):
        part = entries[i:i + chunk]
        with transaction.atomic():
            found = {} if new else {e.solution_id: e for e in QueueEntry.objects.select_for_update()
                                    .filter(among("solution_id", [sid for sid, _ in part]))}
            fresh = [sid for sid, _ in part if sid not in found]
            # an entry is in its solution's project (the claim walks one project's entries); a solution that is
            # not there fails the COPY on its foreign key, as before
            project = dict(Solution.objects.filter(among("id", fresh)).values_list("id", "project_id")) if fresh else {}
            rows = [dict(solution_id=sid, project_id=project.get(sid, DEFAULT_PROJECT_ID), overlap=overlap,
                         priority=-float(sid) if prio is None else prio, generation=generation, completed=0,
                         in_flight=0, is_open=True)
                    for sid, prio in part if sid not in found]
            try:
                with transaction.atomic():
                    insert_rows(QueueEntry, rows, ids=False)
                created += len(rows)
            except IntegrityError:  # another transaction queued some of them meanwhile: one at a time
                for row in rows:
                    entry, made = QueueEntry.objects.select_for_update().get_or_create(
                        solution_id=row["solution_id"], defaults=row)
                    created += made
                    if not made:
                        found[entry.solution_id] = entry
            again = []
            for sid, prio in part:
                if (entry := found.get(sid)) is not None:
                    entry.overlap = max(entry.overlap, overlap)
                    entry.priority = -float(sid) if prio is None else prio
                    entry.generation = generation if generation is not None else entry.generation
                    entry.refresh_open()
                    again.append(entry)
            QueueEntry.objects.bulk_update(again, ["overlap", "priority", "generation", "is_open"])
    return created
