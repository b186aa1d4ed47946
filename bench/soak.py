"""Fault-injection soak: annotators label while an active-learning round runs and parts fail.

    .venv/bin/python bench/soak.py                          # 100 annotators, every fault, ~6 min
    .venv/bin/python bench/soak.py --annotators 20 --gap 10  # a quicker pass
    .venv/bin/python bench/soak.py --json                   # figures as JSON

Prints figures; it is not a test, and it only talks to 127.0.0.1. It:

1. creates ``stepwise_soak_<pid>`` on the PostgreSQL server of DATABASE_URL (admin connection; default
   postgres://postgres@127.0.0.1:5432/postgres), migrates it, fills ``--queued`` synthetic solutions into the
   labelling queue, imports ProcessBench-GSM8K from ../shared/data (``--train`` labelled solutions for the PRM,
   ``--pool`` unlabelled ones for the round to score), builds a micro BERT backbone locally, and makes
   ``--annotators`` annotator logins plus an ML-staff API token;
2. starts the production shape, each process on its own: a private redis-server (append-only, as in
   docker-compose), gunicorn (gthread), two Celery workers and Celery beat, with short lease, stall and
   resend times so that recovery happens within the run;
3. lets the annotators label (next, a draft, submit; ``--replay`` of submits sent twice with the same client
   id; ``--late`` annotators who hold every task past its lease before submitting; every submit retried
   with its client id until acknowledged, as the labelling page does), starts a round through the API, and
   injects, ``--gap`` seconds apart: SIGKILL of the worker running the round's training (or, if that has
   ended, a scoring chunk), a new worker started at once (the watchdog fails the round or re-sends the
   scoring; a failed round is resumed through the API, as an operator would),
   a Redis restart, SIGKILL of one gunicorn worker, and an ACCESS EXCLUSIVE lock on the labelling tables for
   ``--lock-seconds``;
4. waits for the round to end, then checks the database: acknowledged labels vs labels stored (0 lost),
   duplicate passes (0), claims beyond overlap (0), queue counters; and prints 5xx responses (count and
   when) and latency percentiles before, during and after each fault.

Exit status 1 when a label was lost, a pass duplicated, a claim went beyond overlap, a 5xx was answered,
or the round neither finished nor stayed resumable.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from annotators import (  # noqa: E402
    BenchDatabase,
    create_annotators,
    fill,
    free_port,
    local_admin_url,
    log,
    setup_django,
    use_database,
)
from soak_cluster import Redis, celery_beat, celery_worker, children, gunicorn, http_status, wait_until  # noqa: E402
from soak_report import analyse, print_report  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------

def load_round_data(scratch: Path, n_train: int, n_pool: int) -> list[str]:
    """ProcessBench-GSM8K: labelled solutions (the PRM's training set) and an unlabelled pool."""
    import orjson
    from django.core.management import call_command

    records = json.loads((SHARED / "processbench" / "gsm8k.json").read_text())
    if n_train + n_pool > len(records):
        raise SystemExit(f"--train + --pool must be at most {len(records)}")
    train = scratch / "train.json"
    train.write_bytes(orjson.dumps(records[:n_train]))
    pool = scratch / "pool.jsonl"
    pool.write_bytes(b"".join(orjson.dumps({
        "problem": r["problem"], "steps": r["steps"], "is_correct": r["final_answer_correct"],
        "generator": r["generator"], "id": r["id"]}) + b"\n" for r in records[n_train:n_train + n_pool]))
    quiet = io.StringIO()  # the commands' summaries would break --json
    call_command("import_solutions", str(train), verbosity=0, stdout=quiet)
    call_command("import_solutions", str(pool), "--format", "jsonl", verbosity=0, stdout=quiet)
    return [r["problem"] for r in records] + [s for r in records for s in r["steps"]]


def ml_staff_token() -> str:
    from api.tokens import create_token
    from labeling.models import Role
    from labeling.people import accounts

    annotator = accounts.set_user("soak-ml", uuid.uuid4().hex, Role.ML_STAFF)
    return create_token(annotator.user, "soak")[1]


# --------------------------------------------------------------------------------------
# The API as an operator uses it
# --------------------------------------------------------------------------------------

def api(port: int, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, json.dumps(body).encode() if body is not None else None,
                 {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, (json.loads(data) if data else {})


class RoundWatcher(threading.Thread):
    """Follows the round through the API; resumes it when it fails (what the operator would do)."""

    def __init__(self, port: int, token: str, round_id: int, max_resumes: int, t0: float):
        super().__init__(daemon=True)
        self.port, self.token, self.round_id, self.max_resumes, self.t0 = port, token, round_id, max_resumes, t0
        self.history: list[dict] = []
        self.resumes: list[dict] = []
        self.last: dict = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status, r = api(self.port, self.token, "GET", f"/api/rounds/{self.round_id}/")
            except OSError:
                status, r = 0, {}
            if status == 200:
                self.note(r)
                if r["status"] == "failed" and len(self.resumes) < self.max_resumes:
                    code, _ = api(self.port, self.token, "POST", f"/api/rounds/{self.round_id}/resume/")
                    self.resumes.append({"t": time.time() - self.t0, "status": code, "error": r.get("error")})
            if self.last.get("status") in ("succeeded", "cancelled") or (
                    self.last.get("status") == "failed" and len(self.resumes) >= self.max_resumes):
                return
            self.stop.wait(1.0)

    def note(self, r: dict) -> None:
        key = (r["status"], r.get("stage"), r.get("attempt"))
        if not self.history or self.history[-1]["key"] != key:
            self.history.append({"t": round(time.time() - self.t0, 1), "key": key, "status": r["status"],
                                 "stage": r.get("stage"), "attempt": r.get("attempt"), "error": r.get("error")})
        self.last = r

    def training_started(self) -> bool:
        train = next((s for s in self.last.get("stages") or [] if s["name"] == "train"), {})
        return (train.get("done") or 0) > 0


# --------------------------------------------------------------------------------------
# Faults: each returns when the system is whole again; the soak notes start and end
# --------------------------------------------------------------------------------------

def kill_round_worker(cluster: dict) -> str:
    from django_celery_results.models import TaskResult

    from activelearn.models import WorkerHeartbeat

    # the worker in one of the round's tasks: the training if it still runs, else a scoring chunk or the finish
    round_tasks = [f"activelearn.tasks.{t}" for t in ("run_round", "score_chunk", "finish_round")]
    started = TaskResult.objects.filter(status="STARTED", task_name__in=round_tasks).order_by("task_name")
    task, running = started.values_list("task_name", "worker").first() or ("no task", "")
    victim = cluster["workers"].get(running.split("@")[0]) or next(iter(cluster["workers"].values()))
    victim.kill(signal.SIGKILL)
    victim.proc.wait(timeout=30)
    n = len(cluster["spawned"]) + 1
    fresh = celery_worker(f"soak-w{n + 2}", cluster["scratch"], cluster["env"]).start()
    cluster["spawned"].append(fresh)
    cluster["workers"].pop(victim.name, None)
    cluster["workers"][fresh.name] = fresh
    wait_until(lambda: WorkerHeartbeat.objects.filter(pid=fresh.pid).exists(), 120, "the new worker's heartbeat")
    return f"SIGKILL {victim.name} (in {task.rsplit('.', 1)[-1]}); {fresh.name} started"


def restart_redis(cluster: dict, down_s: float) -> str:
    redis = cluster["redis"]
    redis.stop()
    time.sleep(down_s)
    redis.start()
    return f"redis-server stopped (AOF flushed), {down_s:g} s down, started again"


def kill_gunicorn_worker(cluster: dict, port: int) -> str:
    master = cluster["gunicorn"]
    before = children(master.pid)
    os.kill(before[0], signal.SIGKILL)
    wait_until(lambda: len(set(children(master.pid)) - {before[0]}) == len(before), 60, "gunicorn to respawn")
    wait_until(lambda: http_status(port, "/healthz/") == 200, 60, "/healthz/ after the respawn")
    return f"SIGKILL gunicorn worker {before[0]}; the arbiter started a new one"


def lock_tables(admin_url: str, db: str, seconds: float) -> str:
    import psycopg
    from annotators import _conninfo

    tables = ("labeling_lease", "labeling_queueentry", "labeling_labeledpass")
    with psycopg.connect(_conninfo(admin_url, db)) as conn:
        conn.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        time.sleep(seconds)
        conn.commit()
    return f"ACCESS EXCLUSIVE on {', '.join(tables)} for {seconds:g} s"


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------

def start_cluster(args, db_url: str, scratch: Path) -> dict:
    redis_port, web_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "False", "CELERY_BROKER_URL": f"redis://127.0.0.1:"
           f"{redis_port}/0", "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "CELERY_QUEUE": f"soak-{os.getpid()}", "MODEL_DIR": str(scratch / "models"),
           "STEPWISE_VAR_DIR": str(scratch / "var"), "LABEL_LEASE_SECONDS": str(args.lease_seconds),
           "ROUND_STALL_SECONDS": str(args.stall_seconds), "ROUND_RESEND_SECONDS": str(args.stall_seconds),
           "WORKER_DEAD_AFTER_SECONDS": str(args.stall_seconds), "OMP_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO", "LOG_FORMAT": "json",  # as docker-compose logs
           "PRM_ALLOWED_BACKBONES": f"micro={scratch / 'micro-bert'}"}  # rounds name it: "micro"
    os.environ.update({k: env[k] for k in ("CELERY_BROKER_URL", "CELERY_QUEUE")})
    cluster = {"env": env, "scratch": scratch, "port": web_port, "spawned": []}
    cluster["redis"] = Redis(redis_port, scratch, env).start()
    cluster["gunicorn"] = gunicorn(web_port, args.web_workers, args.web_threads, scratch, env).start()
    cluster["workers"] = {n: celery_worker(n, scratch, env).start()
                          for n in ("soak-w1", "soak-w2")}
    cluster["beat"] = celery_beat(scratch, env).start()
    wait_until(lambda: http_status(web_port, "/healthz/") == 200, 90, "gunicorn /healthz/")
    from activelearn.models import WorkerHeartbeat

    wait_until(lambda: WorkerHeartbeat.objects.count() >= 2, 120, "two worker heartbeats")
    return cluster


def stop_cluster(cluster: dict) -> None:
    for service in [cluster.get("gunicorn"), cluster.get("beat"), *cluster.get("workers", {}).values(),
                    *cluster.get("spawned", []), cluster.get("redis")]:
        if service is not None:
            service.stop()


def drive(args, cluster: dict, usernames: list[str], token: str, micro: Path, admin_url: str, db: str) -> dict:
    ctx = mp.get_context("spawn")
    ready_q, result_q, start_ev, stop_ev = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Event()
    port = cluster["port"]
    cfg = {"port": port, "request_timeout": 60.0, "think_ms": args.think_ms, "replay": args.replay,
           "late_hold_s": args.lease_seconds + 5, "seed": args.seed, "wait_poll_ms": 1000.0}
    late = set(usernames[:args.late])
    n_procs = max(1, min(args.client_procs, len(usernames)))
    procs = [ctx.Process(target=_client, args=(cfg, usernames[i::n_procs], late, ready_q, start_ev, stop_ev,
                                               result_q), daemon=True) for i in range(n_procs)]
    faults: list[dict] = []
    watcher = None
    try:
        for p in procs:
            p.start()
        readies = [ready_q.get(timeout=300) for _ in procs]
        if sum(r["logged_in"] for r in readies) != len(usernames):
            raise RuntimeError(f"not every annotator logged in: {[r['errors'] for r in readies]}")
        t0 = time.time()
        start_ev.set()
        log(f"{len(usernames)} annotators labelling; baseline {args.baseline:g} s")
        time.sleep(args.baseline)
        config = {"base_model": "micro", "epochs": args.epochs, "max_length": 256, "per_problem": 2,
                  "round_cap": args.round_cap, "chunk_size": 40, "seed": 0}
        status, r = api(port, token, "POST", "/api/rounds/", config)
        if status != 201:
            raise RuntimeError(f"starting the round answered {status}: {r}")
        watcher = RoundWatcher(port, token, r["id"], args.max_resumes, t0)
        watcher.start()
        log(f"round {r['id']} started; waiting for its training")
        wait_until(lambda: watcher.training_started() or watcher.last.get("status") not in (None, "queued",
                                                                                              "running"),
                   300, "the round's training to start", interval=0.5)

        def fault(name: str, inject) -> None:
            start = time.time()
            what = inject()
            faults.append({"name": name, "start": start - t0, "end": time.time() - t0, "what": what})
            log(f"{name}: {what} ({time.time() - start:.1f} s)")

        fault("worker_kill", lambda: kill_round_worker(cluster))
        for name, inject in (("redis_restart", lambda: restart_redis(cluster, args.redis_down)),
                             ("gunicorn_worker_kill", lambda: kill_gunicorn_worker(cluster, port)),
                             ("db_lock", lambda: lock_tables(admin_url, db, args.lock_seconds))):
            time.sleep(args.gap)
            fault(name, inject)
        log("faults done; waiting for the round to end")
        watcher.join(timeout=args.round_timeout)
        time.sleep(args.after)
    finally:
        stop_ev.set()
        start_ev.set()
        results = []
        for _ in procs:
            try:
                results.append(result_q.get(timeout=180))
            except Exception:
                break
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
        if watcher is not None:
            watcher.stop.set()
    end = time.time() - t0
    return {"t0": t0, "end": end, "faults": faults, "results": results,
            "round": {"history": watcher.history, "resumes": watcher.resumes, "last": watcher.last}}


def _client(*a) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from soak_clients import client_main

    client_main(*a)


def run(args, admin_url: str) -> dict:
    name = f"stepwise_soak_{os.getpid()}"
    with BenchDatabase(admin_url, name, keep=args.keep_db) as db, \
            tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        scratch = Path(tmp)
        use_database(name)
        from django.core.management import call_command

        from activelearn.prm.micro import build_micro_backbone

        call_command("migrate", interactive=False, verbosity=0)
        fill(args.queued, seed=0.5, extra_sql=[])
        corpus = load_round_data(scratch, args.train, args.pool)
        micro = build_micro_backbone(scratch / "micro-bert", corpus, "bert")
        usernames, _ = create_annotators(args.annotators)
        token = ml_staff_token()
        log(f"database {name}: {args.queued:,} queued, {args.train} labelled + {args.pool} pool solutions")
        from django.db import connections

        connections.close_all()
        cluster = {}
        try:
            cluster = start_cluster(args, db.url, scratch)
            log(f"cluster up: gunicorn :{cluster['port']}, 2 workers, beat, redis")
            ran = drive(args, cluster, usernames, token, micro, admin_url, name)
        except BaseException:
            for s in [cluster.get("gunicorn"), cluster.get("beat"), *cluster.get("workers", {}).values()]:
                if s is not None:
                    log(f"--- {s.name} log tail ---\n{s.tail(1500)}")
            raise
        finally:
            tails = {s.name: s.tail(1500) for s in [cluster.get("gunicorn"), *cluster.get("workers", {}).values()]
                     if s is not None}
            stop_cluster(cluster)
        out = analyse(ran, usernames, args)
        out["log_tails"] = tails
        return out


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--annotators", type=int, default=100, help="simulated annotators (default 100)")
    p.add_argument("--late", type=int, default=5, help="of those, annotators who submit after the lease expired")
    p.add_argument("--think-ms", type=float, default=3000.0, help="mean pause per task (default 3000)")
    p.add_argument("--replay", type=float, default=0.05, help="share of submits sent twice (default 0.05)")
    p.add_argument("--queued", type=int, default=20_000, help="solutions in the labelling queue (default 20000)")
    p.add_argument("--train", type=int, default=150, help="labelled solutions the PRM trains on (default 150)")
    p.add_argument("--pool", type=int, default=200, help="unlabelled solutions the round scores (default 200)")
    p.add_argument("--epochs", type=float, default=3.0, help="the round's training epochs (default 3)")
    p.add_argument("--round-cap", type=int, default=60, help="solutions the round queues (default 60)")
    p.add_argument("--baseline", type=float, default=20.0, help="seconds before the round starts (default 20)")
    p.add_argument("--gap", type=float, default=20.0, help="seconds between faults (default 20)")
    p.add_argument("--after", type=float, default=20.0, help="seconds after the round ends (default 20)")
    p.add_argument("--window", type=float, default=15.0, help="before/after window per fault (default 15)")
    p.add_argument("--redis-down", type=float, default=5.0, help="seconds Redis stays down (default 5)")
    p.add_argument("--lock-seconds", type=float, default=8.0, help="seconds the tables stay locked (default 8)")
    p.add_argument("--lease-seconds", type=int, default=20, help="LABEL_LEASE_SECONDS for the run (default 20)")
    p.add_argument("--stall-seconds", type=int, default=20,
                   help="ROUND_STALL_SECONDS and WORKER_DEAD_AFTER_SECONDS for the run (default 20)")
    p.add_argument("--max-resumes", type=int, default=3, help="resumes of a failed round (default 3)")
    p.add_argument("--round-timeout", type=float, default=600.0, help="longest wait for the round (default 600)")
    p.add_argument("--web-workers", type=int, default=2)
    p.add_argument("--web-threads", type=int, default=2)
    p.add_argument("--client-procs", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep-db", action="store_true", help="do not drop the database (for inspection)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    if args.annotators < 1 or not 0 <= args.late <= args.annotators:
        p.error("--annotators must be positive and --late at most --annotators")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    admin_url = local_admin_url()
    setup_django(admin_url)
    out = run(args, admin_url)
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        print_report(out)
    return 0 if out["verdict"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
