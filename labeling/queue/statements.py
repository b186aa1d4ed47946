"""The annotator path's claim as single statements on PostgreSQL (claims.py keeps the portable path).

`state` reads in one query what next-task decides on: the annotator's open lease (its id and expiry)
and the regular tasks submitted since their last QC question. `claim` takes the open queue entry of
highest priority this annotator was never served (nor any segmentation version of it), counts it in
flight and writes the lease, in one statement (data-modifying CTEs), and returns the lease with its
solution and problem, so the task is served in three queries with the one that authenticates. The
lock is the same as the portable path's (FOR UPDATE SKIP LOCKED on the entry), so concurrent
claimers never take one slot twice; the unique index of one open lease per annotator still decides
a race of one annotator's two tabs.
"""
import functools
import uuid
from datetime import datetime

from django.db import connection

from labeling.models import (
    Annotator,
    LabeledPass,
    Lease,
    LeaseStatus,
    Problem,
    Project,
    ProjectMember,
    QueueEntry,
    ServeReason,
    Solution,
)
from labeling.people.leases import LABELLING_ROLES
from labeling.storage.rows import columns, split, table

REGULAR = (ServeReason.PRIORITY, ServeReason.OVERLAP)


@functools.cache
def _state_sql() -> str:
    lease, solution, member, project = table(Lease), table(Solution), table(ProjectMember), table(Project)
    # Newest first and stopped at the QC interval (index lease_annotator_status_created): the work stays the same
    # whatever an annotator's history. The interval is the project's (the asked one), else the shortest of the
    # annotator's projects. No QC question left for them (in the asked project, else in theirs): nothing is due,
    # nothing is counted.
    return f"""
        SELECT o.id, o.expires_at,
               CASE WHEN EXISTS (SELECT 1 FROM {solution} s WHERE s.is_quality_control
                                 AND s.project_id = ANY(m.projects)
                                 AND (%(p)s::bigint IS NULL OR s.project_id = %(p)s::bigint)
                                 AND NOT EXISTS (SELECT 1 FROM {lease} v
                                                 WHERE v.annotator_id = %(a)s AND v.solution_id = s.id))
               THEN (SELECT count(*) FROM (
                   SELECT 1 FROM {lease} r
                   WHERE r.annotator_id = %(a)s AND r.status = %(submitted)s AND r.reason = ANY(%(regular)s)
                     AND r.created_at > COALESCE((SELECT q.created_at FROM {lease} q
                                                  WHERE q.annotator_id = %(a)s AND q.status = %(submitted)s
                                                    AND q.reason = %(qc)s ORDER BY q.created_at DESC LIMIT 1),
                                                 '-infinity')
                   ORDER BY r.created_at DESC LIMIT m.every) AS n)
               ELSE 0 END,
               m.projects, m.every, m.unscreened
        FROM (SELECT ARRAY(SELECT project_id FROM {member} WHERE user_id = %(u)s ORDER BY project_id) AS projects,
                     ARRAY(SELECT project_id FROM {member} WHERE user_id = %(u)s AND screening_passed_at IS NULL
                           ORDER BY project_id) AS unscreened,
                     (SELECT min(j.qc_every) FROM {member} x JOIN {project} j ON j.id = x.project_id
                      WHERE x.user_id = %(u)s AND (%(p)s::bigint IS NULL OR j.id = %(p)s::bigint)) AS every) m
        LEFT JOIN LATERAL (SELECT id, expires_at FROM {lease}
                           WHERE annotator_id = %(a)s AND status = %(open)s LIMIT 1) o ON true"""


def state(annotator_id: int, user_id: int | None, project: int | None = None
          ) -> tuple[uuid.UUID | None, datetime | None, int, list[int], int | None, list[int]]:
    """(open lease id, its expiry, regular tasks submitted since the last QC one, at most the QC interval; 0 when
    no QC question is left that this annotator was never served, so that a QC turn costs no query to find none;
    the ids of the projects the annotator's login is a member of; the QC interval: `project`'s, else the shortest
    of theirs; the ids of their projects whose screening they have not passed)."""
    with connection.cursor() as cur:
        cur.execute(_state_sql(), {"a": annotator_id, "u": user_id, "p": project, "submitted": LeaseStatus.SUBMITTED,
                                   "open": LeaseStatus.OPEN, "regular": list(REGULAR), "qc": ServeReason.QC})
        return cur.fetchone()


@functools.cache
def _claim_sql() -> str:
    entry, lease, solution, problem, project = (table(m) for m in (QueueEntry, Lease, Solution, Problem, Project))
    return f"""
        WITH pick AS (  -- each project's best (index queue_open_by_project), then the best of those
            SELECT c.id FROM unnest(%(projects)s::bigint[]) AS p(id)
            CROSS JOIN LATERAL (
                SELECT q.id, q.priority FROM {entry} q
                WHERE q.project_id = p.id AND q.is_open
                  AND NOT EXISTS (SELECT 1 FROM {lease} u  -- a probe per candidate, not the whole history
                                  WHERE u.annotator_id = %(a)s AND u.solution_id = q.solution_id)
                  -- nor another segmentation version of it (its origin, the origin's versions): one pass per person
                  -- and content. Scalar lookups by primary key and the origin index, per candidate: a join here
                  -- lets the planner scan every solution (measured: 0.4 s a claim at 200,000)
                  AND NOT EXISTS (SELECT 1 FROM {lease} v
                                  WHERE v.annotator_id = %(a)s
                                    AND v.solution_id = (SELECT qs.origin_id FROM {solution} qs
                                                         WHERE qs.id = q.solution_id))
                  AND NOT EXISTS (SELECT 1 FROM {solution} f JOIN {lease} v ON v.solution_id = f.id
                                  WHERE v.annotator_id = %(a)s
                                    AND f.origin_id = (SELECT COALESCE(qs.origin_id, qs.id) FROM {solution} qs
                                                       WHERE qs.id = q.solution_id))
                ORDER BY q.priority DESC, q.id ASC
                LIMIT 1 FOR UPDATE OF q SKIP LOCKED) c
            ORDER BY c.priority DESC, c.id ASC
            LIMIT 1
        ), counted AS (
            UPDATE {entry} q SET in_flight = q.in_flight + 1, is_open = q.completed + q.in_flight + 1 < q.overlap
            FROM pick WHERE q.id = pick.id
            RETURNING q.solution_id, q.project_id, q.completed + q.in_flight - 1 AS served
        ), made AS (
            INSERT INTO {lease} (id, annotator_id, solution_id, reason, status, created_at, expires_at, draft,
                                 labeled_pass_id)
            SELECT %(id)s, %(a)s, solution_id, CASE WHEN served > 0 THEN %(overlap)s ELSE %(priority)s END,
                   %(open)s, %(now)s, %(now)s + make_interval(secs => j.lease_seconds), '{{}}', NULL
            FROM counted JOIN {project} j ON j.id = counted.project_id  -- the lease length is the project's
            RETURNING *
        )
        SELECT {columns(Lease, "made")}, {columns(Solution, "s")}, {columns(Problem, "p")}
        FROM made JOIN {solution} s ON s.id = made.solution_id JOIN {problem} p ON p.id = s.problem_id"""


def claim(annotator_id: int, projects: list[int], now: datetime) -> Lease | None:
    """Claim the next entry of `projects` and return its lease (solution and problem attached), or None: nothing
    open there that this annotator has not seen. Raises IntegrityError when the annotator got an open lease
    meanwhile. Across several projects each one's best entry is locked for the statement and the best of them
    taken: a concurrent claimer skips the others for those milliseconds and takes its next."""
    params = {"a": annotator_id, "projects": projects, "id": uuid.uuid4(), "now": now,
              "open": LeaseStatus.OPEN,
              "overlap": ServeReason.OVERLAP, "priority": ServeReason.PRIORITY}
    with connection.cursor() as cur:
        cur.execute(_claim_sql(), params)
        row = cur.fetchone()
    if row is None:
        return None
    lease_obj, lease_obj.solution, problem = split(row, Lease, Solution, Problem)
    lease_obj.solution.problem = problem
    return lease_obj


def count_submitted(lease_id, solution_id: int, pass_id: int, was_open: bool) -> None:
    """A submitted lease's slot moves from in flight to completed (an expired lease already gave it back),
    and the lease records its pass: one statement, the entry's row locked by its own UPDATE."""
    entry, lease = table(QueueEntry), table(Lease)
    sql = f"""
        WITH counted AS (
            UPDATE {entry} SET
                in_flight = CASE WHEN %(was_open)s AND in_flight > 0 THEN in_flight - 1 ELSE in_flight END,
                completed = completed + 1,
                is_open = completed + 1 + CASE WHEN %(was_open)s AND in_flight > 0 THEN in_flight - 1
                                               ELSE in_flight END < overlap
            WHERE solution_id = %(solution)s
            RETURNING 1
        )
        UPDATE {lease} SET status = %(submitted)s, labeled_pass_id = %(pass)s WHERE id = %(lease)s"""
    with connection.cursor() as cur:
        cur.execute(sql, {"was_open": was_open, "solution": solution_id, "submitted": LeaseStatus.SUBMITTED,
                          "pass": pass_id, "lease": lease_id})


@functools.cache
def _lease_sql(lock: bool) -> str:
    lease, solution, problem, labeled, project, member, annotator = (table(m) for m in (
        Lease, Solution, Problem, LabeledPass, Project, ProjectMember, Annotator))
    # only while the holder may label in its project (labeling.people.leases): a removed member's lease is not theirs
    return f"""
        SELECT {columns(Lease, "l")}, {columns(Solution, "s")}, {columns(Problem, "p")}, {columns(Project, "j")},
               (SELECT x.id FROM {labeled} x WHERE x.client_id = %(client)s LIMIT 1)
        FROM {lease} l JOIN {solution} s ON s.id = l.solution_id JOIN {problem} p ON p.id = s.problem_id
             JOIN {project} j ON j.id = s.project_id
        WHERE l.id = %(lease)s AND l.annotator_id = %(a)s
          AND EXISTS (SELECT 1 FROM {member} m JOIN {annotator} a ON a.user_id = m.user_id
                      WHERE a.id = l.annotator_id AND m.project_id = s.project_id AND m.role = ANY(%(roles)s))
          {" FOR UPDATE OF l" if lock else ""}"""


def lease_for(lease_id, annotator_id: int, *, lock: bool, client_id) -> Lease | None:
    """The annotator's lease with its solution, problem and project (whose protocol a submit follows), locked
    (`lock`; the lease only: locking the joined solution would deadlock a claim's foreign-key check on it), and
    as `landed_id` the pass `client_id` landed (None: none, or no client id): one query."""
    with connection.cursor() as cur:
        cur.execute(_lease_sql(lock), {"client": client_id, "lease": lease_id, "a": annotator_id,
                                       "roles": list(LABELLING_ROLES)})
        row = cur.fetchone()
    if row is None:
        return None
    lease_obj, lease_obj.solution, problem, project = split(row[:-1], Lease, Solution, Problem, Project)
    lease_obj.solution.problem, lease_obj.solution.project = problem, project
    lease_obj.landed_id = row[-1]
    return lease_obj
