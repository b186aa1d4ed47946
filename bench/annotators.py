"""Labelling API under concurrent annotators: next-task, draft and submit latency against queue size.

    .venv/bin/python bench/annotators.py                       # 10^3, 10^5, 10^6 queued; 100 annotators; 30 s each
    .venv/bin/python bench/annotators.py --queued 1000 --annotators 10 --seconds 5   # quick run
    .venv/bin/python bench/annotators.py --think-ms 3000      # paced annotators: latency below saturation
    .venv/bin/python bench/annotators.py --queued 1000 1000000 --think-ms 3000 --max-submits 900   # equal work
    .venv/bin/python bench/annotators.py --queued 1000000 --extra-sql "CREATE INDEX ..." --json  # try an index
    .venv/bin/python bench/annotators.py --queued 1000000 --projects 100 --think-ms 3000   # 100 queues of 10^4

Prints figures; it is not a test. For each queue size, in a fresh database of its own:

1. creates ``stepwise_bench_annot_<pid>`` on the PostgreSQL server named by DATABASE_URL (used only as
   the admin connection; default postgres://postgres@127.0.0.1:5432/postgres), migrates it and fills it
   server-side (INSERT ... SELECT generate_series, no rows cross the wire): a few thousand problems shared
   by N solutions of 3-8 steps, one QueueEntry per solution (random priority, overlap 1), then
   ``--extra-sql``, VACUUM ANALYZE, CHECKPOINT and sync (the run starts with the bulk load on disk: at 10^6
   ~1.5 GB still being written back made every COMMIT's WAL fsync wait); creates ``--annotators``
   annotator logins (bulk, one password hash, screening passed: 100 x PBKDF2 would take ~25 s);
2. starts gunicorn (config.wsgi:application, gthread, ``--workers`` x ``--threads``) on 127.0.0.1 at a
   free port with DATABASE_URL pointing at that database, and waits for /healthz/;
3. logs every annotator in through /accounts/login/ (its own cookies and CSRF token), then drives them
   all at once from ``--client-procs`` processes (one thread and one keep-alive HTTP connection per
   annotator, standard library only): POST /api/tasks/next/ -> one draft save -> submit (all +1 and
   ``solution``, or +1/0 up to a -1 at a random step and ``found_error``), ~``--replay`` of the submits
   sent a second time with the same client_id (must answer the same pass, duplicate=true), without
   think time unless ``--think-ms``, for ``--seconds`` (after ``--warmup`` seconds not measured) or
   until ``--max-submits`` or an empty queue; meanwhile pg_stat_activity of the bench database is sampled
   every 20 ms (what the backends wait on, per query) with the machine's CPU use;
4. reports client-side p50/p95/p99 per endpoint (the server-side time from gunicorn's access log as
   well), throughput, 5xx, and the database's own view after gunicorn has stopped: duplicate claims (a
   solution leased beyond its QueueEntry.overlap), lost submissions (200-acknowledged passes against
   LabeledPass rows), queue counters against leases; then one labeling.queue.claims.next_task, query by query
   with times, and EXPLAIN (ANALYZE, BUFFERS) of its claim query exactly as next_task sends
   it and of its slowest other query (captured, then rolled back);
5. stops gunicorn and drops the database (also on errors and Ctrl-C).

Goals: p95 < 25 ms for next-task and submit with 100 annotators; p95 at the largest queue within 1.3x
of p95 at the smallest. Without ``--think-ms`` the loop is closed (each annotator always has a request
out), which measures capacity: the mean latency is then annotators / throughput whatever a request
costs, and the report says so. Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import platform
import queue as queue_mod
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_SIZES = (1_000, 100_000, 1_000_000)
GOAL_P95_MS = 25.0  # next-task and submit, at 100 annotators
GOAL_SCALE_RATIO = 1.3  # p95 at the largest queue / p95 at the smallest
GOAL_ANNOTATORS = 100
PASSWORD = "bench-annotator-Secret-42"
ENDPOINTS = ("next", "draft", "submit", "replay")
MAX_PROBLEMS = 3000


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 100)) - 1))
    return ordered[k]


def summary_ms(values: list[float]) -> dict:
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99), "max": max(values) if values else None,
            "mean": sum(values) / len(values) if values else None}


# --------------------------------------------------------------------------------------
# Database: create, fill, check, drop
# --------------------------------------------------------------------------------------

def _conninfo(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, f"/{dbname}", "", ""))


class BenchDatabase:
    """A throwaway database on the admin server; dropped on exit whatever happened."""

    def __init__(self, admin_url: str, name: str, keep: bool = False):
        self.admin_url, self.name, self.keep = admin_url, name, keep
        parts = urlsplit(admin_url)
        self.url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
        self.created = False

    def _admin(self):
        import psycopg

        return psycopg.connect(_conninfo(self.admin_url, urlsplit(self.admin_url).path.lstrip("/") or "postgres"),
                               autocommit=True)

    def __enter__(self) -> BenchDatabase:
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.created = True
        return self

    def drop(self) -> None:
        if not self.created:
            return
        from django.db import connections
        from psycopg import sql

        connections.close_all()
        if self.keep:
            log(f"kept database {self.name}")
            return
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
        self.created = False
        log(f"dropped database {self.name}")

    def __exit__(self, *exc) -> None:
        self.drop()


def use_database(name: str) -> None:
    """Point this process's Django connection at `name` (settings were read once, from the admin URL)."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    settings.DATABASES["default"]["NAME"] = name
    connections["default"].settings_dict["NAME"] = name


def migrate() -> float:
    from django.core.management import call_command

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    return time.perf_counter() - t0


FILL_SQL = (
    # problems: a few thousand, shared by the solutions
    """
    INSERT INTO labeling_problem (text, ground_truth_answer, ground_truth_solution, subject, level, source_id,
                                  content_hash, extra, created_at)
    SELECT 'Bench problem ' || i || ': a sequence starts at ' || (i % 97) || ' and each term adds ' || (i % 13 + 2)
           || '. Find the sum of its first ' || (i % 40 + 10) || ' terms, and give the remainder when that sum is '
           || 'divided by ' || (i % 7 + 3) || '.',
           ((i * 7) % 1000)::text, NULL,
           (ARRAY['Algebra', 'Geometry', 'Number Theory', 'Precalculus', 'Counting & Probability'])[1 + i % 5],
           1 + i % 5, 'bench/problem/' || i, encode(sha256(('bench problem ' || i)::bytea), 'hex'), '{}', now()
    FROM generate_series(1, %(problems)s) AS i
    """,
    # solutions: 3-8 steps of ~130 characters each, unique content_hash
    """
    INSERT INTO labeling_solution (problem_id, steps, final_answer, answer_is_correct, answer_graded_at, generator,
                                   source_id, verifier_score, generation, is_quality_control, is_screening,
                                   content_hash, gold_first_error, extra, created_at)
    SELECT p.first_id + (i %% %(problems)s),
           (SELECT json_agg('Step ' || k || ': from the previous line, ' || (i %% 89 + k) || ' + ' || (k * 3)
                            || ' = ' || (i %% 89 + 4 * k) || ', so substituting this value back into the expression '
                            || 'for the sum gives the next term.' ORDER BY k)
              FROM generate_series(1, 3 + i %% 6) AS k),
           ((i * 7) %% 1000)::text, NULL, NULL, 'bench-generator', 'bench/solution/' || i, random(), 1,
           false, false, encode(sha256(('bench solution ' || i)::bytea), 'hex'), NULL, '{}'::jsonb, now()
    FROM generate_series(1, %(solutions)s) AS i, (SELECT min(id) AS first_id FROM labeling_problem) AS p
    """,
    # one queue entry per solution: random priority, overlap 1
    """
    INSERT INTO labeling_queueentry (solution_id, priority, overlap, completed, in_flight, is_open, generation,
                                     enqueued_at)
    SELECT id, random(), 1, 0, 0, true, 1, now() FROM labeling_solution
    """,
)


PROJECTS_SQL = (  # --projects N: projects 2..N beside the default one, the problems spread round robin over them
    """
    INSERT INTO labeling_project (id, slug, name, guidelines, protocol, allow_neutral, default_overlap, qc_every,
                                  screening_threshold, lease_seconds, created_at)
    SELECT i, 'bench-' || i, 'Bench project ' || i, '', 'first_error', true, 1, 10, 0.8, 1800, now()
    FROM generate_series(2, %(projects)s) AS i
    """,
    "UPDATE labeling_problem SET project_id = 1 + (id %% %(projects)s)",
    """UPDATE labeling_solution s SET project_id = p.project_id FROM labeling_problem p WHERE p.id = s.problem_id""",
    """UPDATE labeling_queueentry q SET project_id = s.project_id FROM labeling_solution s
       WHERE s.id = q.solution_id""",
)


def fill(queued: int, seed: float, extra_sql: list[str], projects: int = 1) -> dict:
    """Problems, solutions and queue entries generated inside PostgreSQL (over `projects` projects); returns
    timings."""
    from django.db import connection

    problems = min(MAX_PROBLEMS, max(1, queued // 10))
    times = {}
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '256MB'")
        cur.execute("SELECT setseed(%s)", [seed])
        for name, sql in zip(("problems", "solutions", "queue"), FILL_SQL, strict=True):
            t0 = time.perf_counter()
            if name == "problems":
                cur.execute(sql.replace("%(problems)s", str(problems)))
            else:
                cur.execute(sql % {"problems": problems, "solutions": queued})
            times[f"{name}_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if projects > 1:
            for sql in PROJECTS_SQL:
                cur.execute(sql, {"projects": projects} if "%(projects)s" in sql else None)
            cur.execute("SELECT setval(pg_get_serial_sequence('labeling_project', 'id'), (SELECT max(id) FROM "
                        "labeling_project))")
        times["projects_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for sql in extra_sql:  # e.g. an index being considered, applied before the statistics are taken
            cur.execute(sql)
        times["extra_sql_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for table in ("labeling_problem", "labeling_solution", "labeling_queueentry"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
        times["vacuum_analyze_s"] = time.perf_counter() - t0
        # Start from a steady state, not from the bulk load's write-back: without this the kernel is still
        # writing ~1.5 GB (at 10^6) to disk during the run and every COMMIT's WAL fsync queues behind it.
        t0 = time.perf_counter()
        cur.execute("CHECKPOINT")
        os.sync()
        times["checkpoint_sync_s"] = time.perf_counter() - t0
        cur.execute("SELECT count(*) FROM labeling_queueentry WHERE is_open")
        times["open_entries"] = cur.fetchone()[0]
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        times["db_size"] = cur.fetchone()[0]
        cur.execute("RESET synchronous_commit")
    times["problems"] = problems
    return times


def create_annotators(count: int, projects: int = 1) -> tuple[list[str], float]:
    """`count` annotator logins that skip screening, each a member of one of `projects` projects (round robin,
    as the fill spreads the problems); one password hash for all (hashing is 0.2 s each)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from labeling.models import DEFAULT_PROJECT_ID, Annotator, ProjectMember, Role
    from labeling.people import roles

    t0 = time.perf_counter()
    names = [f"bench-annotator-{i:04d}" for i in range(count)]
    hashed = make_password(PASSWORD)
    user_model = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        user_model.objects.bulk_create([user_model(username=n, password=hashed) for n in names], batch_size=1000)
        users = user_model.objects.filter(username__in=names).order_by("username")
        Annotator.objects.bulk_create([Annotator(user=u, role=Role.ANNOTATOR, screening_passed_at=now)
                                       for u in users], batch_size=1000)
        ProjectMember.objects.bulk_create([ProjectMember(project_id=DEFAULT_PROJECT_ID + i % projects, user=u,
                                                         role=Role.ANNOTATOR) for i, u in enumerate(users)],
                                          batch_size=1000)
        roles.sync_groups()  # the annotator group carries the permission to label
    return names, time.perf_counter() - t0


CHECK_SQL = {
    # leases that count against overlap (not expired) beyond the entry's overlap
    "duplicate_claims": """
        SELECT count(*), coalesce(sum(c - overlap), 0) FROM (
            SELECT l.solution_id, count(*) AS c, q.overlap FROM labeling_lease l
            JOIN labeling_queueentry q ON q.solution_id = l.solution_id
            WHERE l.status <> 'expired' GROUP BY l.solution_id, q.overlap HAVING count(*) > q.overlap) AS x
    """,
    "passes_beyond_overlap": """
        SELECT count(*) FROM (
            SELECT p.solution_id FROM labeling_labeledpass p JOIN labeling_queueentry q ON q.solution_id = p.solution_id
            GROUP BY p.solution_id, q.overlap HAVING count(*) > q.overlap) AS x
    """,
    "counter_mismatches": """
        SELECT count(*) FROM labeling_queueentry q
        LEFT JOIN (SELECT solution_id, count(*) FILTER (WHERE status = 'submitted') AS done,
                          count(*) FILTER (WHERE status = 'open') AS open
                   FROM labeling_lease GROUP BY solution_id) AS l ON l.solution_id = q.solution_id
        WHERE q.completed <> coalesce(l.done, 0) OR q.in_flight <> coalesce(l.open, 0)
           OR q.is_open <> (q.completed + q.in_flight < q.overlap)
    """,
    "leases": "SELECT count(*) FROM labeling_lease",
    "leases_open": "SELECT count(*) FROM labeling_lease WHERE status = 'open'",
    "passes": "SELECT count(*) FROM labeling_labeledpass",
    "leases_submitted_without_pass": """
        SELECT count(*) FROM labeling_lease WHERE status = 'submitted' AND labeled_pass_id IS NULL
    """,
}


def check_database(acked_ids: set[str]) -> dict:
    from django.db import connection

    out: dict = {}
    with connection.cursor() as cur:
        for name, sql in CHECK_SQL.items():
            cur.execute(sql)
            row = cur.fetchone()
            out[name] = row[0] if len(row) == 1 else list(row)
        cur.execute("SELECT count(*) FROM labeling_labeledpass WHERE client_id = ANY(%s::uuid[])", [sorted(acked_ids)])
        out["acked_found"] = cur.fetchone()[0]
    out["duplicate_claim_solutions"], out["duplicate_claim_excess"] = out.pop("duplicate_claims")
    out["acked"] = len(acked_ids)
    out["lost"] = len(acked_ids) - out["acked_found"]
    out["unacked_rows"] = out["passes"] - out["acked_found"]
    return out


def _explain(sql: str) -> list[str]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = [r[0] for r in cur.fetchall()]
        transaction.set_rollback(True)
    return plan


def explain_next_task() -> dict:
    """What one next-task costs in the database, query by query, after the run.

    labeling.queue.claims.next_task runs once (rolled back) for the annotator with the most leases (the longest
    "never served" list; past LABEL_QC_EVERY tasks, so the QC look-up runs too) with its queries captured
    and timed; then EXPLAIN (ANALYZE, BUFFERS), also rolled back, of the claim query (the captured
    SELECT ... FOR UPDATE SKIP LOCKED, exactly as next_task sends it: on PostgreSQL the one statement of
    labeling.queue.statements.claim) and of the slowest
    other query.
    """
    from django.db import connection, transaction
    from django.db.models import Count

    from labeling.models import Annotator
    from labeling.queue import claims as queue

    annotator = Annotator.objects.annotate(n=Count("leases")).order_by("-n", "id").first()
    if annotator is None:
        return {"error": "no annotator"}
    queries: list[dict] = []

    def timed(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - t0) * 1000
            queries.append({"ms": ms, "sql": connection.ops.last_executed_query(context["cursor"], sql, params)})

    with transaction.atomic(), connection.execute_wrapper(timed):
        t0 = time.perf_counter()
        queue.next_task(annotator)
        total_ms = (time.perf_counter() - t0) * 1000
        transaction.set_rollback(True)
    out = {"annotator_leases": annotator.n, "next_task_ms": total_ms,
           "queries": [{"ms": q["ms"], "sql": q["sql"][:100]} for q in queries]}
    claim = next((q["sql"] for q in queries if "SKIP LOCKED" in q["sql"]), None)
    if claim:
        out["claim"] = {"sql": claim, "plan": _explain(claim)}
    others = [q for q in queries if q["sql"].lstrip().upper().startswith("SELECT") and "SKIP LOCKED" not in q["sql"]]
    if others:
        slowest = max(others, key=lambda q: q["ms"])
        out["slowest_other"] = {"ms": slowest["ms"], "sql": slowest["sql"], "plan": _explain(slowest["sql"])}
    return out


# --------------------------------------------------------------------------------------
# gunicorn
# --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ACCESS_FORMAT = '%(m)s %(U)s %(s)s %(D)s'


class Gunicorn:
    HEALTH = "/healthz/"

    def __init__(self, db_url: str, workers: int, threads: int, scratch: Path):
        self.db_url, self.workers, self.threads, self.scratch = db_url, workers, threads, scratch
        self.port = free_port()
        self.access_log = scratch / "access.log"
        self.error_log = scratch / "error.log"
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                "--worker-class", "gthread", "--workers", str(self.workers), "--threads", str(self.threads),
                "--keep-alive", "60", "--timeout", "60", "--backlog", "2048", "--no-control-socket",
                "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT,
                "--error-logfile", str(self.error_log), "--log-level", "warning"]

    def __enter__(self) -> Gunicorn:
        env = dict(os.environ)
        env.update({"DATABASE_URL": self.db_url, "DEBUG": "False", "DJANGO_SETTINGS_MODULE": "config.settings",
                    "LOG_LEVEL": "ERROR"})
        self.proc = subprocess.Popen(self.command(), cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.error_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.HEALTH)
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200:
                    return
                last = f"{resp.status} {body[:200]!r}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not healthy after {timeout:.0f} s: {last}\n{self.error_tail()}")

    def error_tail(self, chars: int = 4000) -> str:
        try:
            return self.error_log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def access_size(self) -> int:
        try:
            return self.access_log.stat().st_size
        except OSError:
            return 0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # the arbiter and its workers: a session of our own
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __exit__(self, *exc) -> None:
        self.stop()


def server_latencies(path: Path, offset: int) -> dict:
    """Server-side request time (gunicorn's %(D)s, microseconds) per endpoint, from `offset` of the access log."""
    lat: dict[str, list[float]] = {"next": [], "draft": [], "submit": []}
    try:
        with path.open("rb") as f:
            f.seek(offset)
            for line in f:
                parts = line.decode(errors="replace").split()
                if len(parts) != 4 or parts[0] != "POST":
                    continue
                url = parts[1]
                kind = "next" if url.endswith("/tasks/next/") else "draft" if url.endswith("/draft/") else \
                    "submit" if url.endswith("/submit/") else None
                if kind:
                    lat[kind].append(int(parts[3]) / 1000)
    except OSError:
        pass
    return {k: summary_ms(v) for k, v in lat.items()}


class ActivitySampler(threading.Thread):
    """Samples pg_stat_activity of the bench database while the annotators run: where do backends wait?

    Every `interval` s, each active backend other than this one counts once under (wait event or "CPU",
    the first words of its query). Also records checkpoints and the kernel's dirty/writeback memory.
    """

    def __init__(self, conninfo: str, interval: float = 0.02):
        super().__init__(daemon=True)
        self.conninfo, self.interval = conninfo, interval
        self.stop_event = threading.Event()
        self.counts: dict[str, int] = {}
        self.samples = 0
        self.max_active = 0
        self.max_dirty_kb = 0
        self.error: str | None = None
        self.checkpoints = None
        self.cpu: dict | None = None

    @staticmethod
    def _cpu_times() -> list[int]:
        try:
            with open("/proc/stat") as f:
                return [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return []

    @staticmethod
    def _dirty_kb() -> int:
        try:
            with open("/proc/meminfo") as f:
                return sum(int(line.split()[1]) for line in f if line.startswith(("Dirty:", "Writeback:")))
        except (OSError, ValueError, IndexError):
            return 0

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                ckpt = "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
                before = conn.execute(ckpt).fetchone()[0]
                cpu0 = self._cpu_times()
                while not self.stop_event.wait(self.interval):
                    rows = conn.execute(
                        "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), "
                        "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
                    ).fetchall()
                    self.samples += 1
                    self.max_active = max(self.max_active, len(rows))
                    for wait, query in rows:
                        key = f"{wait:<28} {query}"
                        self.counts[key] = self.counts.get(key, 0) + 1
                    self.max_dirty_kb = max(self.max_dirty_kb, self._dirty_kb())
                self.checkpoints = conn.execute(ckpt).fetchone()[0] - before
                cpu1 = self._cpu_times()
                if cpu0 and len(cpu1) == len(cpu0):
                    d = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
                    total = sum(d[:8]) or 1  # user nice system idle iowait irq softirq steal
                    self.cpu = {"busy_pct": 100 * (total - d[3] - d[4]) / total, "iowait_pct": 100 * d[4] / total,
                                "steal_pct": 100 * d[7] / total if len(d) > 7 else 0.0}
        except Exception as exc:  # a diagnostic: never fail the run over it
            self.error = repr(exc)

    def result(self) -> dict:
        top = sorted(self.counts.items(), key=lambda kv: -kv[1])[:12]
        return {"samples": self.samples, "interval_s": self.interval, "max_active_backends": self.max_active,
                "checkpoints_during_run": self.checkpoints, "max_dirty_writeback_mb": self.max_dirty_kb // 1024,
                "machine_cpu": self.cpu,
                "top": [{"backends_per_sample": n / max(self.samples, 1), "what": k} for k, n in top],
                "error": self.error}


# --------------------------------------------------------------------------------------
# Simulated annotators (client processes; standard library only)
# --------------------------------------------------------------------------------------

class HttpSession:
    """One keep-alive connection and one cookie jar: one browser tab."""

    RETRYABLE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, BrokenPipeError,
                 ConnectionAbortedError)

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}
        self.reconnects = 0

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (0, 1):  # a retry is safe here: next is idempotent, submit carries its client_id
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
            except self.RETRYABLE:
                self.close()
                if attempt:
                    raise
                self.reconnects += 1
                continue
            except Exception:
                self.close()
                raise
            for raw in resp.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(raw)
                for key, morsel in jar.items():
                    if morsel["max-age"] == "0" or (not morsel.value and morsel["expires"]):
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
            if resp.will_close:
                self.close()
            return resp.status, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


def plan_ratings(rng: random.Random, n_steps: int) -> tuple[list[dict], str]:
    """All +1 (solution) or +1/0 up to a -1 at a random step (found_error)."""
    if n_steps == 0 or rng.random() < 0.6:
        return [{"rating": 1, "flagged": rng.random() < 0.01} for _ in range(n_steps)], "solution"
    k = rng.randrange(n_steps)
    ratings = [{"rating": 0 if rng.random() < 0.1 else 1, "flagged": rng.random() < 0.01} for _ in range(k)]
    return ratings + [{"rating": -1, "flagged": rng.random() < 0.05}], "found_error"


class SimulatedAnnotator:
    def __init__(self, username: str, cfg: dict, shared: dict):
        self.username, self.cfg, self.shared = username, cfg, shared
        self.http = HttpSession("127.0.0.1", cfg["port"], cfg["request_timeout"])
        self.rng = random.Random(f"{cfg['seed']}:{username}")
        self.lat: dict[str, list[float]] = {k: [] for k in ENDPOINTS}
        self.status: dict[str, int] = {}
        self.acked: list[str] = []
        self.acked_in_window = 0
        self.errors: list[str] = []
        self.transport_errors = 0
        self.replays = self.replay_ok = 0
        self.unexpected_duplicates = 0
        self.waits = 0
        self.all_done = False
        self.screening = 0
        self.first_measured: float | None = None
        self.last_done: float | None = None
        self.login_ms: float | None = None

    def _note_error(self, what: str) -> None:
        if len(self.errors) < 5:
            self.errors.append(what[:300])

    def login(self) -> bool:
        t0 = time.perf_counter()
        try:
            status, _ = self.http.request("GET", "/accounts/login/")
            token = self.http.cookies.get("csrftoken")
            if status != 200 or not token:
                self._note_error(f"login page: {status}, csrftoken {'set' if token else 'missing'}")
                return False
            form = urlencode({"csrfmiddlewaretoken": token, "username": self.username, "password": PASSWORD,
                              "next": "/"}).encode()
            status, body = self.http.request("POST", "/accounts/login/", form, {
                "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": token})
        except OSError as exc:
            self._note_error(f"login: {exc!r}")
            return False
        self.login_ms = (time.perf_counter() - t0) * 1000
        if status != 302 or "sessionid" not in self.http.cookies:
            self._note_error(f"login POST: {status} {body[:200]!r}")
            return False
        return True  # the csrftoken cookie rotated at login: HttpSession already holds the new one

    def post(self, kind: str, path: str, payload: dict, measure_from: float):
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.http.cookies.get("csrftoken", "")}
        body = json.dumps(payload).encode()
        started = time.perf_counter()
        try:
            status, data = self.http.request("POST", path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.transport_errors += 1
            self._note_error(f"{kind}: {exc!r}")
            return None, None
        elapsed = (time.perf_counter() - started) * 1000
        if started >= measure_from and started < self.shared["deadline"]:
            self.lat[kind].append(elapsed)
            if self.first_measured is None:
                self.first_measured = time.time() - elapsed / 1000
        key = f"{kind} {status}"
        self.status[key] = self.status.get(key, 0) + 1
        return status, self.parsed(kind, status, data)

    def parsed(self, kind: str, status: int, data: bytes) -> dict | None:
        """The JSON body of a 200; None (and the error noted) otherwise."""
        if status != 200:
            self._note_error(f"{kind} {status}: {data[:300]!r}")
            return None
        try:
            return json.loads(data)
        except ValueError:
            self._note_error(f"{kind}: not JSON: {data[:200]!r}")
            return None

    def run(self) -> None:
        cfg, shared = self.cfg, self.shared
        measure_from = shared["measure_from"]
        think = cfg["think_ms"] / 1000
        while time.perf_counter() < shared["deadline"] and not shared["stop"].is_set():
            status, task = self.post("next", "/api/tasks/next/", {}, measure_from)
            if task is None:
                time.sleep(0.05)  # a 5xx or a transport error: do not spin
                continue
            lease = task.get("lease")
            if lease is None:
                if task.get("reason") == "all_done":
                    self.all_done = True
                    break
                if task.get("reason") == "screening_review":
                    self.screening += 1
                    break
                self.waits += 1
                time.sleep(cfg["wait_poll_ms"] / 1000)  # the rest is leased to others: ask again later
                continue
            if lease.get("kind") == "screening":
                self.screening += 1
            ratings, finish = plan_ratings(self.rng, len(lease.get("steps") or []))
            base = f"/api/tasks/{lease['id']}"
            if think:
                time.sleep(self.rng.uniform(0.5, 1.5) * think / 2)
            self.post("draft", f"{base}/draft/", {"ratings": ratings[:max(1, len(ratings) // 2)],
                                                  "active_ms": self.rng.randint(1_000, 60_000)}, measure_from)
            if think:
                time.sleep(self.rng.uniform(0.5, 1.5) * think / 2)
            with shared["lock"]:
                if shared["submits_left"] is not None:
                    if shared["submits_left"] <= 0:
                        break
                    shared["submits_left"] -= 1
            submit = {"client_id": str(uuid.uuid4()), "ratings": ratings, "finish_reason": finish,
                      "total_time": self.rng.randint(5_000, 600_000), "reason_text": ""}
            started = time.perf_counter()
            status, ack = self.post("submit", f"{base}/submit/", submit, measure_from)
            if ack is None:
                continue
            self.acked.append(ack["receipt"])
            self.last_done = time.time()
            if started >= measure_from:
                self.acked_in_window += 1
            if ack.get("duplicate"):
                self.unexpected_duplicates += 1
            if self.rng.random() < cfg["replay"]:
                self.replays += 1
                _, again = self.post("replay", f"{base}/submit/", submit, measure_from)
                if again is not None and again.get("receipt") == ack["receipt"] and again.get("duplicate") is True:
                    self.replay_ok += 1
                else:
                    self._note_error(f"replay of receipt {ack['receipt']} answered {again!r}")
        self.http.close()


def client_main(cfg: dict, usernames: list[str], ready_q, start_ev, result_q) -> None:
    """One client process: log its annotators in, wait for the start, drive them, report."""
    sys.setswitchinterval(0.0005)  # threads waiting for the GIL after a response should not add 5 ms
    shared = {"deadline": float("inf"), "measure_from": float("inf"), "stop": threading.Event(),
              "lock": threading.Lock(), "submits_left": cfg["max_submits"]}
    annotators = [SimulatedAnnotator(u, cfg, shared) for u in usernames]
    logged: list[bool] = [False] * len(annotators)

    def login_some(idx: list[int]) -> None:
        for i in idx:
            logged[i] = annotators[i].login()

    login_threads = [threading.Thread(target=login_some, args=(list(range(j, len(annotators), 4)),))
                     for j in range(min(4, len(annotators)))]
    for t in login_threads:
        t.start()
    for t in login_threads:
        t.join()
    ready_q.put({"logged_in": sum(logged), "errors": [e for a in annotators for e in a.errors][:5],
                 "login_ms": [a.login_ms for a in annotators if a.login_ms is not None]})
    if not start_ev.wait(timeout=cfg["start_timeout"]) or not all(logged):
        result_q.put({"aborted": True})
        return
    for a in annotators:
        a.errors.clear()
    now = time.perf_counter()
    shared["measure_from"] = now + cfg["warmup"]
    shared["deadline"] = now + cfg["warmup"] + cfg["seconds"]
    threads = [threading.Thread(target=a.run, daemon=True) for a in annotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    status: dict[str, int] = {}
    for a in annotators:
        for k, v in a.status.items():
            status[k] = status.get(k, 0) + v
    result_q.put({
        "lat": {k: [x for a in annotators for x in a.lat[k]] for k in ENDPOINTS},
        "status": status,
        "acked": [p for a in annotators for p in a.acked],
        "acked_in_window": sum(a.acked_in_window for a in annotators),
        "errors": [e for a in annotators for e in a.errors][:10],
        "transport_errors": sum(a.transport_errors for a in annotators),
        "reconnects": sum(a.http.reconnects for a in annotators),
        "replays": sum(a.replays for a in annotators), "replay_ok": sum(a.replay_ok for a in annotators),
        "unexpected_duplicates": sum(a.unexpected_duplicates for a in annotators),
        "waits": sum(a.waits for a in annotators), "all_done": sum(a.all_done for a in annotators),
        "screening": sum(a.screening for a in annotators),
        "first_measured": min((a.first_measured for a in annotators if a.first_measured), default=None),
        "last_done": max((a.last_done for a in annotators if a.last_done), default=None),
    })


def drive(server: Gunicorn, usernames: list[str], args: argparse.Namespace) -> dict:
    ctx = mp.get_context("spawn")
    ready_q, result_q, start_ev = ctx.Queue(), ctx.Queue(), ctx.Event()
    n_procs = max(1, min(args.client_procs, len(usernames)))
    share = None if args.max_submits is None else -(-args.max_submits // n_procs)
    cfg = {"port": server.port, "seconds": args.seconds, "warmup": args.warmup, "think_ms": args.think_ms,
           "replay": args.replay, "wait_poll_ms": args.wait_poll_ms, "seed": args.seed, "max_submits": share,
           "request_timeout": 60.0, "start_timeout": 600.0}
    procs = [ctx.Process(target=client_main, args=(cfg, usernames[i::n_procs], ready_q, start_ev, result_q),
                         daemon=True) for i in range(n_procs)]
    try:
        for p in procs:
            p.start()
        t0 = time.perf_counter()
        readies = [ready_q.get(timeout=300) for _ in procs]
        login_s = time.perf_counter() - t0
        logged = sum(r["logged_in"] for r in readies)
        if logged != len(usernames):
            start_ev.set()
            raise RuntimeError(f"only {logged}/{len(usernames)} annotators logged in: "
                               f"{[e for r in readies for e in r['errors']][:5]}\n{server.error_tail()}")
        login_ms = [x for r in readies for x in r["login_ms"]]
        start_ev.set()
        started = time.time()
        time.sleep(args.warmup)
        access_offset = server.access_size()
        results = []
        deadline = time.monotonic() + args.seconds + 120
        while len(results) < len(procs):
            try:
                results.append(result_q.get(timeout=max(1.0, deadline - time.monotonic())))
            except queue_mod.Empty:
                raise RuntimeError("client processes did not report in time") from None
        for p in procs:
            p.join(timeout=10)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    if any(r.get("aborted") for r in results):
        raise RuntimeError("a client process aborted")
    merged = {"lat": {k: [x for r in results for x in r["lat"][k]] for k in ENDPOINTS}, "status": {}}
    for r in results:
        for k, v in r["status"].items():
            merged["status"][k] = merged["status"].get(k, 0) + v
    for key in ("acked_in_window", "transport_errors", "reconnects", "replays", "replay_ok", "unexpected_duplicates",
                "waits", "all_done", "screening"):
        merged[key] = sum(r[key] for r in results)
    merged["acked"] = [p for r in results for p in r["acked"]]
    merged["errors"] = [e for r in results for e in r["errors"]][:10]
    firsts = [r["first_measured"] for r in results if r["first_measured"]]
    lasts = [r["last_done"] for r in results if r["last_done"]]
    window_start = min(firsts) if firsts else started + args.warmup
    window_end = min(max(lasts) if lasts else window_start, started + args.warmup + args.seconds)
    merged["window_s"] = max(window_end - window_start, 1e-9)
    merged["login_s"], merged["login_ms"] = login_s, summary_ms(login_ms)
    merged["access_offset"] = access_offset
    merged["client_procs"] = n_procs
    return merged


# --------------------------------------------------------------------------------------
# One queue size, end to end
# --------------------------------------------------------------------------------------

def run_size(queued: int, args: argparse.Namespace, admin_url: str) -> dict:
    name = f"stepwise_bench_annot_{os.getpid()}"
    log(f"--- {queued:,} queued: database {name}")
    out: dict = {"queued": queued, "annotators": args.annotators, "database": name}
    with BenchDatabase(admin_url, name, keep=args.keep_db) as db, \
            tempfile.TemporaryDirectory(prefix="bench-annot-") as scratch:
        use_database(name)
        out["migrate_s"] = migrate()
        t0 = time.perf_counter()
        out["fill"] = fill(queued, seed=(args.seed % 1000) / 1000, extra_sql=args.extra_sql, projects=args.projects)
        out["fill_s"] = time.perf_counter() - t0
        log(f"migrated in {out['migrate_s']:.1f} s, filled {queued:,} solutions in {out['fill_s']:.1f} s "
            f"({out['fill']['db_size']})")
        usernames, out["users_s"] = create_annotators(args.annotators, args.projects)
        from django.db import connections

        connections.close_all()
        with Gunicorn(db.url, args.workers, args.threads, Path(scratch)) as server:
            log(f"gunicorn on 127.0.0.1:{server.port}: logging {len(usernames)} annotators in, then "
                f"{args.warmup:g} s warm-up + {args.seconds:g} s")
            sampler = ActivitySampler(_conninfo(admin_url, name)) if args.sample_activity else None
            if sampler:
                sampler.start()
            try:
                run = drive(server, usernames, args)
            finally:
                if sampler:
                    sampler.stop_event.set()
                    sampler.join(timeout=10)
            out["activity"] = sampler.result() if sampler else None
            server.stop()
            out["server"] = server_latencies(server.access_log, run.pop("access_offset"))
            error_tail = server.error_tail(2000)
        acked = run.pop("acked")
        out["client"] = {k: summary_ms(v) for k, v in run.pop("lat").items()}
        out.update(run)
        out["acked_total"] = len(acked)
        out["acked_unique"] = len(set(acked))
        out["status_5xx"] = sum(v for k, v in out["status"].items() if k.split()[1].startswith("5"))
        out["status_4xx"] = sum(v for k, v in out["status"].items() if k.split()[1].startswith("4"))
        out["submits_per_s"] = out["acked_in_window"] / out["window_s"]
        out["requests_per_s"] = sum(s["n"] for s in out["client"].values()) / out["window_s"]
        out["db"] = check_database(set(acked))
        out["explain"] = explain_next_task() if args.explain else None
        if out["status_5xx"] and error_tail:
            out["gunicorn_error_tail"] = error_tail
        log(f"{queued:,}: {out['acked_in_window']} submits in {out['window_s']:.1f} s, "
            f"p95 next {out['client']['next']['p95']} ms, submit {out['client']['submit']['p95']} ms")
    return out


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------

def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "MISS"


def goals(runs: list[dict], annotators: int) -> dict:
    g: dict = {}
    for r in runs:
        for ep in ("next", "submit"):
            p95 = r["client"][ep]["p95"]
            g[f"p95_{ep}_{r['queued']}"] = {
                "value": p95, "goal": f"< {GOAL_P95_MS:g} ms at {GOAL_ANNOTATORS} annotators",
                "result": _verdict(None if p95 is None or annotators != GOAL_ANNOTATORS else p95 < GOAL_P95_MS)}
        db = r["db"]
        g[f"duplicate_claims_{r['queued']}"] = {"value": db["duplicate_claim_solutions"], "goal": "0",
                                                "result": _verdict(db["duplicate_claim_solutions"] == 0)}
        g[f"lost_submissions_{r['queued']}"] = {
            "value": db["lost"], "goal": "acked == rows, 0 missing",
            # no submission at all proves nothing: that is a failed run, not a pass
            "result": _verdict(db["acked"] > 0 and db["lost"] == 0 and db["unacked_rows"] == 0
                               and db["acked"] == r["acked_unique"])}
        g[f"idempotent_replays_{r['queued']}"] = {
            "value": f"{r['replay_ok']}/{r['replays']}", "goal": "all same pass, duplicate=true",
            "result": _verdict(r["replay_ok"] == r["replays"] and r["unexpected_duplicates"] == 0)}
        g[f"5xx_{r['queued']}"] = {"value": r["status_5xx"], "goal": "0", "result": _verdict(r["status_5xx"] == 0)}
    if len(runs) >= 2:
        small, large = min(runs, key=lambda r: r["queued"]), max(runs, key=lambda r: r["queued"])
        for ep in ("next", "submit"):
            a, b = small["client"][ep]["p95"], large["client"][ep]["p95"]
            ratio = b / a if a and b else None
            g[f"p95_ratio_{ep}"] = {"value": ratio, "goal": f"<= {GOAL_SCALE_RATIO:g}x "
                                    f"({large['queued']:,} vs {small['queued']:,})",
                                    "result": _verdict(None if ratio is None else ratio <= GOAL_SCALE_RATIO)}
    return g


def _f(v, fmt="{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def print_report(summary: dict) -> None:
    cmd = summary["setup"]
    print(f"Annotator API benchmark: {cmd['annotators']} annotators in {cmd['client_procs']} client processes, "
          f"gunicorn gthread {cmd['workers']} workers x {cmd['threads']} threads, {cmd['seconds']:g} s measured "
          f"after {cmd['warmup']:g} s warm-up, think time {cmd['think_ms']:g} ms, replay {cmd['replay']:.0%}, "
          f"queue over {cmd['projects']} project(s), each annotator in one")
    print(f"machine: {cmd['cpus']} CPU cores, Python {cmd['python']}, {cmd['postgres']}")
    for sql in cmd["extra_sql"]:
        print(f"extra SQL after fill: {sql}")
    for r in summary["runs"]:
        f = r["fill"]
        print()
        print(f"== {r['queued']:,} queued ({f['problems']:,} problems, {f['open_entries']:,} open entries, "
              f"database {f['db_size']}) ==")
        print(f"setup: migrate {r['migrate_s']:.1f} s; fill {r['fill_s']:.1f} s (problems {f['problems_s']:.2f}, "
              f"solutions {f['solutions_s']:.1f}, queue {f['queue_s']:.1f}, extra SQL {f['extra_sql_s']:.1f}, "
              f"vacuum+analyze {f['vacuum_analyze_s']:.1f}, checkpoint+sync {f['checkpoint_sync_s']:.1f})"
              f"; {r['annotators']} users {r['users_s']:.2f} s; logins {r['login_s']:.1f} s "
              f"(p50 {_f(r['login_ms']['p50'], '{:.0f}')} ms each)")
        print(f"{'endpoint':<10}{'n':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}   "
              f"{'server p50':>10}{'p95':>8}{'p99':>8}   (ms)")
        for ep in ENDPOINTS:
            c = r["client"][ep]
            s = r["server"].get(ep) or {}
            print(f"{ep:<10}{c['n']:>8}{_f(c['p50']):>8}{_f(c['p95']):>8}{_f(c['p99']):>8}{_f(c['max']):>8}   "
                  f"{_f(s.get('p50')):>10}{_f(s.get('p95')):>8}{_f(s.get('p99')):>8}")
        print(f"throughput: {r['submits_per_s']:.1f} submits/s, {r['requests_per_s']:.0f} requests/s over "
              f"{r['window_s']:.1f} s; annotators told all_done: {r['all_done']}, waits: {r['waits']}")
        if summary["setup"]["think_ms"] == 0 and r["requests_per_s"]:
            print(f"closed loop: every annotator always has one request out, so by Little's law the mean latency is "
                  f"{r['annotators']} / {r['requests_per_s']:.0f} req/s = "
                  f"{1000 * r['annotators'] / r['requests_per_s']:.0f} ms whatever the server does per request")
        print(f"HTTP: 5xx {r['status_5xx']}, 4xx {r['status_4xx']}, transport errors {r['transport_errors']}, "
              f"reconnects {r['reconnects']}; statuses {dict(sorted(r['status'].items()))}")
        db = r["db"]
        print(f"duplicate claims: {db['duplicate_claim_solutions']} solutions ({db['duplicate_claim_excess']} leases "
              f"beyond overlap), passes beyond overlap {db['passes_beyond_overlap']}")
        print(f"submissions: acked {db['acked']} (responses {r['acked_total']}), LabeledPass rows {db['passes']}, "
              f"acked and found {db['acked_found']}, lost {db['lost']}, rows never acked {db['unacked_rows']}; "
              f"replays {r['replay_ok']}/{r['replays']} same pass + duplicate=true, "
              f"unexpected duplicate=true {r['unexpected_duplicates']}")
        print(f"leases {db['leases']} (open {db['leases_open']}), queue counters inconsistent with leases: "
              f"{db['counter_mismatches']}, submitted leases without pass {db['leases_submitted_without_pass']}")
        for e in r["errors"][:5]:
            print(f"  error sample: {e}")
        if r.get("gunicorn_error_tail"):
            print("gunicorn error log tail:\n" + r["gunicorn_error_tail"])
        act = r.get("activity")
        if act:
            print(f"database activity ({act['samples']} samples every {act['interval_s'] * 1000:.0f} ms; "
                  f"max {act['max_active_backends']} active backends; checkpoints during run "
                  f"{act['checkpoints_during_run']}; max dirty+writeback {act['max_dirty_writeback_mb']} MB)"
                  + (f" error: {act['error']}" if act["error"] else ""))
            if act.get("machine_cpu"):
                c = act["machine_cpu"]
                print(f"machine CPU during the run (all processes): busy {c['busy_pct']:.0f}%, iowait "
                      f"{c['iowait_pct']:.0f}%, steal {c['steal_pct']:.0f}%")
            for t in act["top"][:8]:
                print(f"  {t['backends_per_sample']:5.2f}  {t['what']}")
        ex = r.get("explain")
        if ex and "queries" in ex:
            print(f"one next_task after the run (annotator with {ex['annotator_leases']} leases, rolled back): "
                  f"{ex['next_task_ms']:.1f} ms in-process, {len(ex['queries'])} queries:")
            for q in ex["queries"]:
                print(f"  {q['ms']:8.2f} ms  {q['sql']}")
            for key, title in (("claim", "claim query (labeling.queue.claims._claim)"),
                               ("slowest_other", "slowest other query")):
                if key in ex:
                    print(f"EXPLAIN (ANALYZE, BUFFERS) of the {title}:")
                    print("  " + ex[key]["sql"])
                    for line in ex[key]["plan"]:
                        print("  | " + line)
        elif ex:
            print(f"next_task EXPLAIN failed: {ex}")
    print()
    print("goals")
    for key, g in summary["goals"].items():
        v = g["value"]
        shown = f"{v:.2f}" if isinstance(v, float) else str(v)
        print(f"  {key:<28} {shown:>10}  {g['goal']:<40} {g['result']}")
    print("latency = client-side (request sent to body read, keep-alive connection, client and server share the "
          "machine); server = gunicorn's request time.")


# --------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queued", type=int, nargs="+", default=list(DEFAULT_SIZES),
                   help="queue sizes, each in a fresh database (default 1000 100000 1000000)")
    p.add_argument("--annotators", type=int, default=100, help="concurrent annotators (default 100)")
    p.add_argument("--projects", type=int, default=1,
                   help="spread the queue over this many projects, each annotator a member of one (default 1)")
    p.add_argument("--seconds", type=float, default=30.0, help="measured seconds per queue size (default 30)")
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before that (default 3)")
    p.add_argument("--max-submits", type=int, default=None, help="stop after this many submits per size")
    p.add_argument("--think-ms", type=float, default=0.0,
                   help="mean pause per task between requests (default 0: a closed loop at full speed)")
    p.add_argument("--replay", type=float, default=0.02, help="share of submits sent twice (default 0.02)")
    p.add_argument("--wait-poll-ms", type=float, default=1000.0,
                   help="pause before asking again after a 'waiting' answer (default 1000)")
    # 2 x 2 measured best on the 2-core machine (20 annotators, closed loop, submits/s): 2x2 73, 2x4 61-65,
    # 3x2 60, 4x1 59, 8x1 54, 2x8 53, 4x4 36-53: more threads than cores only add GIL and lock contention.
    p.add_argument("--workers", type=int, default=2, help="gunicorn gthread workers (default 2)")
    p.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (default 2)")
    p.add_argument("--client-procs", type=int, default=2, help="client processes the annotators are spread over")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-explain", dest="explain", action="store_false",
                   help="skip the query-by-query look at one next_task (EXPLAIN of the claim and the slowest query)")
    p.add_argument("--extra-sql", action="append", default=[], metavar="SQL",
                   help="SQL run on each bench database after the fill (repeatable), to measure a candidate index; "
                        "printed in the report")
    p.add_argument("--no-sample-activity", dest="sample_activity", action="store_false",
                   help="do not sample pg_stat_activity during the run")
    p.add_argument("--keep-db", action="store_true", help="do not drop the database (for inspection)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    if any(n < 1 for n in args.queued) or args.annotators < 1 or args.seconds <= 0 or args.workers < 1 \
            or args.threads < 1:
        p.error("sizes, annotators, seconds, workers and threads must be positive")
    if args.workers * args.threads > 90:
        p.error("workers x threads above 90 would exceed PostgreSQL's default max_connections (100)")
    return args


def setup_django(admin_url: str) -> None:
    os.environ["DATABASE_URL"] = admin_url
    os.environ["DEBUG"] = "False"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import django

    django.setup()


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def local_admin_url() -> str:
    """DATABASE_URL (or the default), refused unless it is PostgreSQL on this machine."""
    admin_url = os.environ.get("DATABASE_URL") or DEFAULT_ADMIN_URL
    if not urlsplit(admin_url).scheme.startswith("postgres"):
        raise SystemExit(f"DATABASE_URL must be a PostgreSQL URL, got {urlsplit(admin_url).scheme}://")
    if urlsplit(admin_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("this benchmark only talks to a database on 127.0.0.1")
    return admin_url


def main(argv=None) -> int:
    args = parse_args(argv)
    admin_url = local_admin_url()
    signal.signal(signal.SIGTERM, _terminate)
    setup_django(admin_url)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        pg_version = " ".join(cur.fetchone()[0].split()[:2])
    runs = []
    try:
        for queued in args.queued:
            runs.append(run_size(queued, args, admin_url))
    except KeyboardInterrupt:
        log("interrupted: gunicorn stopped, clients ended, database dropped")
        return 130
    summary = {
        "setup": {"annotators": args.annotators, "client_procs": min(args.client_procs, args.annotators),
                  "workers": args.workers, "threads": args.threads, "seconds": args.seconds, "warmup": args.warmup,
                  "think_ms": args.think_ms, "replay": args.replay, "max_submits": args.max_submits,
                  "cpus": os.cpu_count(), "python": platform.python_version(), "postgres": pg_version,
                  "gunicorn": "gthread", "extra_sql": args.extra_sql, "projects": args.projects, "argv": sys.argv},
        "runs": runs,
    }
    summary["goals"] = goals(runs, args.annotators)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_report(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
