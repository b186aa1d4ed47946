"""Stepwise beside Label Studio 1.23.2 on one machine: solutions into the queue, annotators, export.

    .venv/bin/python bench/peer.py                                  # 2 rounds, 10,000 and 100,000, 20 and 50
    .venv/bin/python bench/peer.py --records 10000 --annotators 20 --seconds 10 --rounds 1     # a quick look
    .venv/bin/python bench/peer.py --ls-venv ~/.cache/stepwise-peer-ls      # keep Label Studio's virtualenv

Prints figures; it is not a test. What it does:

1. installs Label Studio 1.23.2 and gunicorn from PyPI into a throwaway virtualenv (``--ls-venv DIR``
   keeps one between runs); it never imports Label Studio: that runs in its own interpreter;
2. migrates one template database per app on the PostgreSQL server of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/postgres); every measurement gets a fresh copy of it;
3. writes the same records for both (bench/solutions_import.py's: a ~200-character problem of its
   own, 8 steps of ~80 characters): JSON Lines for Stepwise, a JSON task list (problem, the steps
   joined, the steps) for Label Studio;
4. for each round, Stepwise then Label Studio, the next round the other way round (A B B A ...): one
   app running at a time, under gunicorn 2 workers x 2 threads (gthread) on 127.0.0.1; Stepwise also
   runs one Celery worker on Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/15), which runs
   its import and export jobs;
   - import: each size in ``--records`` into a fresh database, the file uploaded by the API, timed
     from the first byte until the app says all records are in (Stepwise: ``POST /api/imports/``
     with ``enqueue=true``, then its job polled every 50 ms; Label Studio: ``POST
     /api/projects/<id>/import``, which answers when done), then the count read back from the database;
   - annotators: on the smallest import, each size in ``--annotators`` loops next -> submit without
     pause for ``--seconds`` (after ``--warmup``), one thread and one keep-alive connection per
     annotator, each with its own API token, spread over ``--client-procs`` processes; a submit rates
     the steps +1, or +1/0 up to a -1 (Label Studio: one labelled span per rated step);
   - export: what was labelled, by the API (Stepwise: ``POST /api/exports/`` PRM800K, polled,
     downloaded; Label Studio: ``GET /api/projects/<id>/export?exportType=JSON``), timed to the last byte;
   - ANALYZE after each import, outside the timing (what autovacuum would do on a default server);
   - checks each database: every acknowledged submit is there once (lost, acknowledged twice), no
     solution labelled beyond its overlap of 1;
5. prints per app the range over rounds and the ratio of medians.

Only 127.0.0.1 is contacted. Label Studio's version check, analytics and Sentry are off by their own
settings (LATEST_VERSION_CHECK, COLLECT_ANALYTICS, SENTRY_DSN, FRONTEND_SENTRY_DSN), and its HTTP(S)
proxy points at a closed local port, so any call out that remains fails here instead of leaving.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import queue as queue_mod
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import annotators as ann  # noqa: E402  (bench/ siblings: gunicorn, percentiles, ratings)
import import_export as ie  # noqa: E402  (child environment, migrations)
import solutions_import as sis  # noqa: E402  (the records, Stepwise's upload and its server with a worker)

REPO = ie.REPO
LS_VERSION = "1.23.2"
LS_SIDE = Path(__file__).resolve().parent / "peer_labelstudio.py"
APPS = ("stepwise", "labelstudio")
TITLES = {"stepwise": "Stepwise", "labelstudio": "Label Studio"}
NO_TRAFFIC_OUT = {"LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false", "SENTRY_DSN": "",
                  "FRONTEND_SENTRY_DSN": "", "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
                  "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
                  "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


# --------------------------------------------------------------------------------------
# Databases and Label Studio's virtualenv
# --------------------------------------------------------------------------------------

@dataclass
class Db:
    name: str
    url: str


class Databases:
    """One migrated template per app; each measurement a fresh copy (Label Studio migrates in ~30 s)."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.templates: dict[str, Db] = {}
        self.n = 0

    def _db(self, name: str) -> Db:
        parts = urlsplit(self.admin_url)
        return Db(name, f"{parts.scheme}://{parts.netloc}/{name}")

    def _sql(self, statement: str, *names: str) -> None:
        import psycopg
        from psycopg import sql

        admin = ann._conninfo(self.admin_url, urlsplit(self.admin_url).path.lstrip("/") or "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(*map(sql.Identifier, names)))

    def template(self, app: str, migrate) -> None:
        db = self._db(f"stepwise_peer_{os.getpid()}_{app}_template")
        self._sql("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name)
        self._sql("CREATE DATABASE {}", db.name)
        self.templates[app] = db
        t0 = time.perf_counter()
        migrate(db)
        ie.log(f"{TITLES[app]}: template migrated in {time.perf_counter() - t0:.0f} s")

    @contextlib.contextmanager
    def fresh(self, app: str):
        self.n += 1
        db = self._db(f"stepwise_peer_{os.getpid()}_{app}_{self.n}")
        self._sql("CREATE DATABASE {} TEMPLATE {}", db.name, self.templates[app].name)
        try:
            yield db
        finally:
            self._sql("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name)

    def analyze(self, db: Db) -> None:
        """What autovacuum does within a minute of a bulk load on a default server (it is off on some)."""
        import psycopg

        with psycopg.connect(ann._conninfo(db.url, db.name), autocommit=True) as conn:
            conn.execute("ANALYZE")

    def close(self) -> None:
        for db in self.templates.values():
            self._sql("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name)


def label_studio_venv(path: Path) -> Path:
    """Label Studio and gunicorn in a virtualenv of their own at `path` (installed once)."""
    python = path / "bin" / "python"
    probe = [str(python), "-c", f"import importlib.metadata as m; assert m.version('label-studio') == '{LS_VERSION}'; "
             "import gunicorn"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    ie.log(f"installing label-studio=={LS_VERSION} and gunicorn into {path} (a few minutes)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"label-studio=={LS_VERSION}", "gunicorn"], check=True)
    return python


# --------------------------------------------------------------------------------------
# The two apps: same steps, each with its own API
# --------------------------------------------------------------------------------------

class Stepwise:
    key = "stepwise"

    def __init__(self, scratch: Path, redis_url: str):
        self.scratch, self.redis_url = scratch, redis_url

    def migrate(self, db: Db) -> None:
        ie.migrate(db)

    def setup(self, db: Db, annotators: int) -> dict:
        out = sis.manage(db, "shell", "-c", (
            "import json, sys\n"
            "sys.path.insert(0, 'bench')\n"
            "import annotators\n"
            "from django.contrib.auth import get_user_model\n"
            "from api.tokens import create_token\n"
            f"names, _ = annotators.create_annotators({annotators})\n"
            "users = {u.username: u for u in get_user_model().objects.filter(username__in=names)}\n"
            "print('PEER_RESULT ' + json.dumps([create_token(users[n], 'bench')[1] for n in names]))"))
        tokens = json.loads(next(x for x in out.splitlines() if x.startswith("PEER_RESULT "))[12:])
        return {"tokens": tokens, "owner_token": sis.admin_token(db)}

    def serve(self, db: Db, tag: str):
        return sis.stepwise_server(db, self.redis_url, self.scratch, tag)

    def import_file(self, records: Path) -> Path:
        return records

    def upload(self, port: int, setup: dict, path: Path) -> tuple[float, dict]:
        job, _, seconds = sis.upload_and_wait(port, setup["owner_token"], path)
        if job["status"] != "succeeded":
            raise SystemExit(f"Stepwise's import job ended {job['status']}: {job.get('error_message')}")
        return seconds, job["stats"]

    def export(self, port: int, setup: dict) -> tuple[float, int, int]:
        auth = {"Authorization": f"Bearer {setup['owner_token']}"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        t0 = time.perf_counter()
        conn.request("POST", "/api/exports/", json.dumps({"format": "prm800k"}),
                     {**auth, "Content-Type": "application/json"})
        job = json.loads(conn.getresponse().read())
        while job["status"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(0.05)
            conn.request("GET", f"/api/exports/{job['id']}/", headers=auth)
            job = json.loads(conn.getresponse().read())
        if job["status"] != "succeeded":
            raise SystemExit(f"Stepwise's export job ended {job['status']}: {job.get('error_message')}")
        conn.request("GET", f"/api/exports/{job['id']}/download/", headers=auth)
        resp = conn.getresponse()
        body = resp.read()
        seconds = time.perf_counter() - t0
        if resp.status != 200:
            raise SystemExit(f"Stepwise's export download answered {resp.status}")
        return seconds, body.count(b"\n"), len(body)

    def check(self, db: Db, n_records: int, acked: list) -> dict:
        import psycopg

        with psycopg.connect(ann._conninfo(db.url, db.name)) as conn:
            count = {k: conn.execute(ann.CHECK_SQL[k]).fetchone()[0]
                     for k in ("passes", "passes_beyond_overlap", "counter_mismatches")}
            solutions = conn.execute("SELECT count(*) FROM labeling_solution").fetchone()[0]
            queued = conn.execute("SELECT count(*) FROM labeling_queueentry").fetchone()[0]
            found = conn.execute("SELECT count(*) FROM labeling_labeledpass WHERE client_id = ANY(%s::uuid[])",
                                 [sorted(set(acked))]).fetchone()[0]
        return {"records": solutions, "queued": queued, "submits": count["passes"], "acked": len(acked),
                "lost": len(set(acked)) - found, "acked_twice": len(acked) - len(set(acked)),
                "beyond_overlap": count["passes_beyond_overlap"], "counter_mismatches": count["counter_mismatches"],
                "ok": solutions == queued == n_records and found == len(set(acked)) == len(acked)
                and count["passes_beyond_overlap"] == 0 and count["counter_mismatches"] == 0}


class LabelStudio:
    key = "labelstudio"

    def __init__(self, scratch: Path, python: Path):
        self.scratch, self.python = scratch, python
        self.secret = secrets.token_urlsafe(40)  # one per run, for both gunicorn workers and the setup
        self.package = Path(subprocess.run([str(python), "-c", "import label_studio, os; print(os.path.dirname("
                                            "label_studio.__file__))"], check=True, capture_output=True,
                                           text=True).stdout.strip())

    def env(self, db: Db) -> dict:
        parts = urlsplit(db.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE_URL", "REDIS"))}
        env.update(NO_TRAFFIC_OUT)
        env.update({"DJANGO_DB": "default", "POSTGRE_NAME": db.name, "POSTGRE_USER": parts.username or "postgres",
                    "POSTGRE_PASSWORD": parts.password or "", "POSTGRE_HOST": parts.hostname or "127.0.0.1",
                    "POSTGRE_PORT": str(parts.port or 5432), "DJANGO_SETTINGS_MODULE": "core.settings.label_studio",
                    "DEBUG": "false", "LOG_LEVEL": "WARNING", "SECRET_KEY": self.secret,
                    "BASE_DATA_DIR": str(self.scratch / "label-studio-data"), "PYTHONWARNINGS": "ignore"})
        return env

    def _run(self, db: Db, argv: list[str]) -> str:
        proc = subprocess.run([str(self.python), *argv], cwd=self.package, env=self.env(db), capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise SystemExit(f"Label Studio: {' '.join(argv[:2])} failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
        return proc.stdout

    def _result(self, db: Db, argv: list[str]) -> dict:
        out = self._run(db, [str(LS_SIDE), *argv])
        return json.loads(next(x for x in out.splitlines() if x.startswith("PEER_RESULT "))[12:])

    def migrate(self, db: Db) -> None:
        self._run(db, ["manage.py", "migrate", "--noinput", "-v", "0"])

    def setup(self, db: Db, annotators: int) -> dict:
        return self._result(db, ["setup", "--annotators", str(annotators)])

    @contextlib.contextmanager
    def serve(self, db: Db, tag: str):
        app = self

        class Server(ann.Gunicorn):
            HEALTH = "/health/"

            def command(self) -> list[str]:
                return [str(app.python), "-m", "gunicorn", "core.wsgi:application", "--bind",
                        f"127.0.0.1:{self.port}", "--worker-class", "gthread", "--workers", "2", "--threads", "2",
                        "--keep-alive", "60", "--timeout", "600", "--backlog", "2048", "--no-control-socket",
                        "--error-logfile", str(self.error_log), "--log-level", "warning"]

            def __enter__(self):
                self.proc = subprocess.Popen(self.command(), cwd=app.package, env=app.env(db),
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, start_new_session=True)
                self.wait_healthy(120)
                return self

        with Server(db.url, 2, 2, self.scratch) as server:
            yield server

    def import_file(self, records: Path) -> Path:
        """The same records as a Label Studio task list (written once per size, outside the timing)."""
        path = records.with_suffix(".tasks.json")
        if not path.exists():
            tasks = []
            with open(records) as f:
                for line in f:
                    r = json.loads(line)
                    tasks.append({"data": {"problem": r["problem"], "solution": "\n\n".join(r["steps"]),
                                           "steps": r["steps"], "answer": r["answer"],
                                           "ground_truth_answer": r["ground_truth_answer"], "id": r["id"]}})
            path.write_text(json.dumps(tasks))
        return path

    def upload(self, port: int, setup: dict, path: Path) -> tuple[float, dict]:
        body, ctype = sis.multipart(path, {})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
        t0 = time.perf_counter()
        conn.request("POST", f"/api/projects/{setup['project']}/import", body,
                     {"Authorization": f"Token {setup['owner_token']}", "Content-Type": ctype})
        resp = conn.getresponse()
        answer = resp.read()
        seconds = time.perf_counter() - t0
        if resp.status != 201:
            raise SystemExit(f"Label Studio's import answered {resp.status}: {answer[:500]!r}")
        return seconds, json.loads(answer)

    def export(self, port: int, setup: dict) -> tuple[float, int, int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
        t0 = time.perf_counter()
        conn.request("GET", f"/api/projects/{setup['project']}/export?exportType=JSON",
                     headers={"Authorization": f"Token {setup['owner_token']}"})
        resp = conn.getresponse()
        body = resp.read()
        seconds = time.perf_counter() - t0
        if resp.status != 200:
            raise SystemExit(f"Label Studio's export answered {resp.status}: {body[:500]!r}")
        return seconds, len(json.loads(body)), len(body)

    def check(self, db: Db, n_records: int, acked: list) -> dict:
        path = self.scratch / "acked.txt"
        path.write_text("\n".join(map(str, acked)))
        got = self._result(db, ["check", "--acked", str(path)])
        got.update(records=got.pop("tasks"), submits=got.pop("annotations"),
                   beyond_overlap=got.pop("tasks_beyond_overlap"))
        got["ok"] = got["records"] == n_records and got["lost"] == 0 and got["acked_twice"] == 0 \
            and got["beyond_overlap"] == 0
        return got


# --------------------------------------------------------------------------------------
# The client: one thread and one connection per annotator, the same loop for both apps
# --------------------------------------------------------------------------------------

def _stepwise_once(http, project, rng):
    """(kind, status, id or None, stop): one next -> submit."""
    hdr = {"Content-Type": "application/json"}
    status, data = http.request("POST", "/api/tasks/next/", b"{}", hdr)
    yield "next", status
    lease = json.loads(data).get("lease") if status == 200 else None
    if lease is None:
        return
    ratings, finish = ann.plan_ratings(rng, len(lease["steps"]))
    body = {"client_id": str(uuid.uuid4()), "ratings": ratings, "finish_reason": finish,
            "total_time": rng.randint(5_000, 600_000)}
    status, data = http.request("POST", f"/api/tasks/{lease['id']}/submit/", json.dumps(body).encode(), hdr)
    yield "submit", status, json.loads(data)["receipt"] if status == 200 else None


def _labelstudio_once(http, project, rng):
    status, data = http.request("GET", f"/api/projects/{project}/next/")
    yield "next", status
    if status != 200:
        return
    task = json.loads(data)
    ratings, _ = ann.plan_ratings(rng, len(task["data"]["steps"]))
    result, start = [], 0
    for k, (step, r) in enumerate(zip(task["data"]["steps"], ratings, strict=False)):  # none after a -1
        result.append({"id": f"s{k}", "from_name": "step", "to_name": "solution", "type": "labels",
                       "value": {"start": start, "end": start + len(step), "text": step,
                                 "labels": [{1: "+1", 0: "0", -1: "-1"}[r["rating"]]]}})
        start += len(step) + 2
    body = {"result": result, "lead_time": rng.uniform(5, 600)}
    status, data = http.request("POST", f"/api/tasks/{task['id']}/annotations/?project={project}",
                                json.dumps(body).encode(), {"Content-Type": "application/json"})
    yield "submit", status, json.loads(data)["id"] if status == 201 else None


LOOPS = {"stepwise": (_stepwise_once, "Bearer"), "labelstudio": (_labelstudio_once, "Token")}


def _annotator(cfg: dict, token: str, shared: dict, out: dict) -> None:
    once, scheme = LOOPS[cfg["app"]]
    session = ann.HttpSession("127.0.0.1", cfg["port"], 120.0)
    send = session.request
    session.request = lambda m, p, b=None, h=None: send(m, p, b, {**(h or {}), "Authorization": f"{scheme} {token}"})
    rng = random.Random(token)
    while time.perf_counter() < shared["deadline"]:
        started = time.perf_counter()
        got_task = False
        try:
            for kind, status, *receipt in once(session, cfg["project"], rng):
                now = time.perf_counter()
                measured = started >= shared["measure_from"] and now <= shared["deadline"]
                if measured:
                    out["lat"][kind].append((now - started) * 1000)
                out["status"][f"{kind} {status}"] = out["status"].get(f"{kind} {status}", 0) + 1
                if kind == "next":
                    got_task = status == 200
                elif receipt and receipt[0] is not None:
                    out["acked"].append(receipt[0])
                    out["in_window"] += measured
                started = time.perf_counter()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            out["errors"].append(repr(exc)[:200])
        if not got_task:
            time.sleep(0.05)  # nothing to label, or an error: do not spin
    session.close()


def _merged(parts: list[dict]) -> dict:
    out = {"lat": {"next": [], "submit": []}, "status": {}, "acked": [], "in_window": 0, "errors": []}
    for part in parts:
        for k in out["lat"]:
            out["lat"][k] += part["lat"][k]
        for k, v in part["status"].items():
            out["status"][k] = out["status"].get(k, 0) + v
        out["acked"] += part["acked"]
        out["in_window"] += part["in_window"]
        out["errors"] += part["errors"][:5]
    return out


def client_main(cfg: dict, tokens: list[str], start_ev, result_q) -> None:
    sys.setswitchinterval(0.0005)  # a thread with a response waiting should not wait 5 ms for the GIL
    start_ev.wait(timeout=600)
    now = time.perf_counter()
    shared = {"measure_from": now + cfg["warmup"], "deadline": now + cfg["warmup"] + cfg["seconds"]}
    parts = [_merged([]) for _ in tokens]  # one per thread: nothing shared to count into
    threads = [threading.Thread(target=_annotator, args=(cfg, t, shared, part), daemon=True)
               for t, part in zip(tokens, parts, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result_q.put(_merged(parts))


def closed_loop(app: str, port: int, setup: dict, annotators: int, args) -> dict:
    ctx = mp.get_context("spawn")
    result_q, start_ev = ctx.Queue(), ctx.Event()
    cfg = {"app": app, "port": port, "project": setup.get("project"), "warmup": args.warmup, "seconds": args.seconds}
    tokens = setup["tokens"][:annotators]
    procs = [ctx.Process(target=client_main, args=(cfg, tokens[i::args.client_procs], start_ev, result_q),
                         daemon=True) for i in range(min(args.client_procs, annotators))]
    for p in procs:
        p.start()
    time.sleep(2)  # the client processes' imports, outside the window
    start_ev.set()
    results = []
    try:
        for _ in procs:
            results.append(result_q.get(timeout=args.warmup + args.seconds + 300))
    except queue_mod.Empty:
        raise SystemExit(f"{TITLES[app]}: the client processes did not report") from None
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    got = _merged(results)
    return {"annotators": annotators, "submits_per_s": got["in_window"] / args.seconds,
            "next_ms": ann.summary_ms(got["lat"]["next"]), "submit_ms": ann.summary_ms(got["lat"]["submit"]),
            "status": got["status"], "errors": got["errors"][:5], "acked": got["acked"]}


# --------------------------------------------------------------------------------------
# One app, one round
# --------------------------------------------------------------------------------------

def one_round(app, dbs: Databases, files: dict[int, Path], args) -> dict:
    out: dict = {"import": {}, "loops": []}
    sizes = sorted(files)
    for n in sizes:
        with dbs.fresh(app.key) as db:
            setup = app.setup(db, max(args.annotators))
            path = app.import_file(files[n])
            with app.serve(db, f"{app.key}-{n}") as server:
                seconds, stats = app.upload(server.port, setup, path)
                ie.log(f"{TITLES[app.key]}: {n:,} imported in {seconds:.1f} s")
                out["import"][n] = {"seconds": seconds}
                dbs.analyze(db)  # outside the timing, for both apps
                if n != sizes[0]:
                    out["import"][n]["check"] = app.check(db, n, [])
                    continue
                acked: list = []
                for k in args.annotators:
                    loop = closed_loop(app.key, server.port, setup, k, args)
                    acked += loop.pop("acked")
                    out["loops"].append(loop)
                    ie.log(f"{TITLES[app.key]}: {k} annotators, {loop['submits_per_s']:.1f} submits/s, p95 next "
                           f"{loop['next_ms']['p95']:.0f} ms, submit {loop['submit_ms']['p95']:.0f} ms")
                seconds, lines, size = app.export(server.port, setup)
                out["export"] = {"seconds": seconds, "records": lines, "mb": size / 1e6}
                ie.log(f"{TITLES[app.key]}: exported {lines:,} labelled records in {seconds:.2f} s")
            out["import"][n]["check"] = app.check(db, n, acked)
    return out


def _range(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"


def report(rounds: list[dict], args) -> None:
    def values(app, pick):
        return [pick(r[app]) for r in rounds]

    rows = []
    for n in sorted(rounds[0]["stepwise"]["import"]):
        rows.append((f"import {n:,} solutions into the queue, s", lambda x, n=n: x["import"][n]["seconds"], "{:.1f}",
                     "lower"))
    for i, k in enumerate(args.annotators):
        rows.append((f"{k} annotators next -> submit, submits/s", lambda x, i=i: x["loops"][i]["submits_per_s"],
                     "{:.0f}", "higher"))
        for what in ("next", "submit"):
            rows.append((f"  p95 of {what} at {k}, ms (closed loop: queueing)",
                         lambda x, i=i, w=what: x["loops"][i][f"{w}_ms"]["p95"], "{:.0f}", "lower"))
    rows.append(("export of what was labelled, ms per 1,000 records",
                 lambda x: 1000 * x["export"]["seconds"] * 1000 / max(x["export"]["records"], 1), "{:.0f}", "lower"))
    print(f"\n{'':<52} {'Stepwise':>14} {'Label Studio':>14}  Stepwise is")
    for title, pick, fmt, better in rows:
        sw, ls = values("stepwise", pick), values("labelstudio", pick)
        ratio = statistics.median(ls) / statistics.median(sw) if better == "lower" else \
            statistics.median(sw) / statistics.median(ls)
        print(f"{title:<52} {_range(sw, fmt):>14} {_range(ls, fmt):>14}  {ratio:.1f}x "
              f"{'faster' if ratio >= 1 else 'slower'}")
    print(f"\nexported records (Stepwise / Label Studio): "
          f"{', '.join(str(r['stepwise']['export']['records']) for r in rounds)} / "
          f"{', '.join(str(r['labelstudio']['export']['records']) for r in rounds)}")
    for app in APPS:
        checks = [c["check"] for r in rounds for c in r[app]["import"].values()]
        bad = [c for c in checks if not c["ok"]]
        acked = sum(c["acked"] for c in checks)
        lost = sum(c["lost"] for c in checks)
        twice = sum(c["acked_twice"] for c in checks)
        over = sum(c["beyond_overlap"] for c in checks)
        errors = [e for r in rounds for loop in r[app]["loops"] for e in loop["errors"]]
        print(f"{TITLES[app]}: {acked:,} acknowledged submits, {lost} lost, {twice} acknowledged twice, {over} "
              f"labelled beyond overlap; checks {'ok' if not bad else 'FAILED ' + json.dumps(bad)[:600]}"
              f"{'; client errors ' + '; '.join(errors[:3]) if errors else ''}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--annotators", type=int, nargs="+", default=[20, 50])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=2, help="each app once per round; the order alternates")
    p.add_argument("--client-procs", type=int, default=2)
    p.add_argument("--ls-venv", type=Path, help="Label Studio's virtualenv, kept (default: a throwaway one)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    admin_url = os.environ.get("DATABASE_URL") or ann.DEFAULT_ADMIN_URL
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    with tempfile.TemporaryDirectory(prefix="stepwise-peer-") as tmp:
        scratch = Path(tmp)
        python = label_studio_venv(args.ls_venv or scratch / "label-studio-venv")
        apps = {"stepwise": Stepwise(scratch, redis_url), "labelstudio": LabelStudio(scratch, python)}
        files = {}
        for n in args.records:
            files[n] = scratch / f"solutions-{n}.jsonl"
            sis.write_records(files[n], n)
        dbs = Databases(admin_url)
        try:
            for key, app in apps.items():
                dbs.template(key, app.migrate)
            rounds = []
            for i in range(args.rounds):
                order = APPS if i % 2 == 0 else APPS[::-1]
                rounds.append({key: one_round(apps[key], dbs, files, args) for key in order})
        finally:
            dbs.close()
    if args.json:
        print(json.dumps(rounds, indent=1, default=str))
    report(rounds, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
