"""The annotator path's claim as single statements on PostgreSQL (claims.py keeps the portable path).

`state` reads in one query what next-task decides on: the annotator's open lease (its id and expiry)
and the regular tasks submitted since their last QC question. `claim` takes the open queue entry of
highest priority this annotator was never served, counts it in flight and writes the lease, in one
statement (data-modifying CTEs), and returns the lease with its solution and problem, so the task
is served in three queries with the one that authenticates. The lock is the same as the portable
path's (FOR UPDATE SKIP LOCKED on the entry), so concurrent claimers never take one slot twice; the
unique index of one open lease per annotator still decides a race of one annotator's two tabs.
"""
import uuid
from datetime import datetime

from django.db import connection

from labeling.models import Lease, LeaseStatus, Problem, QueueEntry, ServeReason, Solution

REGULAR = (ServeReason.PRIORITY, ServeReason.OVERLAP)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model, alias: str) -> str:
    return ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in model._meta.concrete_fields)


def _instance(model, values):
    """A model instance from its columns as the database sent them, converted as the ORM converts them."""
    fields = model._meta.concrete_fields
    converted = [f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
                 for f, v in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def state(annotator_id: int) -> tuple[uuid.UUID | None, datetime | None, int]:
    """(open lease id, its expiry, regular tasks submitted since the last QC one)."""
    lease = _table(Lease)
    sql = f"""
        SELECT o.id, o.expires_at,
               (SELECT count(*) FROM {lease} r
                WHERE r.annotator_id = %(a)s AND r.status = %(submitted)s AND r.reason = ANY(%(regular)s)
                  AND r.created_at > COALESCE((SELECT max(q.created_at) FROM {lease} q
                                               WHERE q.annotator_id = %(a)s AND q.status = %(submitted)s
                                                 AND q.reason = %(qc)s), '-infinity'))
        FROM (SELECT 1) one
        LEFT JOIN LATERAL (SELECT id, expires_at FROM {lease}
                           WHERE annotator_id = %(a)s AND status = %(open)s LIMIT 1) o ON true"""
    with connection.cursor() as cur:
        cur.execute(sql, {"a": annotator_id, "submitted": LeaseStatus.SUBMITTED, "open": LeaseStatus.OPEN,
                          "regular": list(REGULAR), "qc": ServeReason.QC})
        return cur.fetchone()


def claim(annotator_id: int, expires_at: datetime, now: datetime) -> Lease | None:
    """Claim the next entry and return its lease (solution and problem attached), or None: nothing open
    that this annotator has not seen. Raises IntegrityError when the annotator got an open lease meanwhile."""
    entry, lease, solution, problem = (_table(m) for m in (QueueEntry, Lease, Solution, Problem))
    sql = f"""
        WITH pick AS (
            SELECT q.id FROM {entry} q
            WHERE q.is_open AND NOT (q.solution_id IN (SELECT u.solution_id FROM {lease} u
                                                       WHERE u.annotator_id = %(a)s))
            ORDER BY q.priority DESC, q.id ASC
            LIMIT 1 FOR UPDATE OF q SKIP LOCKED
        ), counted AS (
            UPDATE {entry} q SET in_flight = q.in_flight + 1, is_open = q.completed + q.in_flight + 1 < q.overlap
            FROM pick WHERE q.id = pick.id
            RETURNING q.solution_id, q.completed + q.in_flight - 1 AS served
        ), made AS (
            INSERT INTO {lease} (id, annotator_id, solution_id, reason, status, created_at, expires_at, draft,
                                 labeled_pass_id)
            SELECT %(id)s, %(a)s, solution_id, CASE WHEN served > 0 THEN %(overlap)s ELSE %(priority)s END,
                   %(open)s, %(now)s, %(expires)s, '{{}}', NULL
            FROM counted
            RETURNING *
        )
        SELECT {_columns(Lease, "made")}, {_columns(Solution, "s")}, {_columns(Problem, "p")}
        FROM made JOIN {solution} s ON s.id = made.solution_id JOIN {problem} p ON p.id = s.problem_id"""
    params = {"a": annotator_id, "id": uuid.uuid4(), "now": now, "expires": expires_at, "open": LeaseStatus.OPEN,
              "overlap": ServeReason.OVERLAP, "priority": ServeReason.PRIORITY}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None
    n_lease, n_solution = len(Lease._meta.concrete_fields), len(Solution._meta.concrete_fields)
    lease_obj = _instance(Lease, row[:n_lease])
    lease_obj.solution = _instance(Solution, row[n_lease:n_lease + n_solution])
    lease_obj.solution.problem = _instance(Problem, row[n_lease + n_solution:])
    return lease_obj


def count_submitted(lease_id, solution_id: int, pass_id: int, was_open: bool) -> None:
    """A submitted lease's slot moves from in flight to completed (an expired lease already gave it back),
    and the lease records its pass: one statement, the entry's row locked by its own UPDATE."""
    entry, lease = _table(QueueEntry), _table(Lease)
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
