"""Unlabelled solutions into the queue: the import with enqueue, by command and by API, at scale.

    .venv/bin/python bench/solutions_import.py                       # 10,000 and 100,000 records
    .venv/bin/python bench/solutions_import.py --records 10000       # one size
    .venv/bin/python bench/solutions_import.py --profile             # cProfile of the command, per size

Prints figures; it is not a test. For each size, in fresh PostgreSQL databases (``stepwise_bench_<n>`` on
the server named by DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres):

1. writes a deterministic JSONL file of N records shaped like issue 17's peer benchmark: a ~200-character
   problem of its own per record (the worst case: a problem, a solution and a queue entry per record),
   8 steps of ~80 characters, an answer;
2. command: ``import_solutions FILE --enqueue --no-progress`` in a fresh interpreter, timed inside it
   (``seconds``) and as a process (``process``, with Django's start-up), with its peak RSS;
3. API, in a second fresh database: gunicorn (2 workers x 2 threads) and one Celery worker on Redis
   (REDIS_URL, default redis://127.0.0.1:6379/15), an admin's token; ``POST /api/imports/`` with the
   file and ``enqueue=true``, then ``GET /api/imports/<id>/`` every 50 ms until the job is done: the time
   from the first byte sent to the answer that says so;
4. checks both databases: N solutions, N open queue entries, priorities in file order;
5. prints the figures and the goal (100,000 in at most 10 s), and peak RSS at N against the smallest N.

Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import annotators as ann  # noqa: E402  (bench/ siblings: the gunicorn harness)
import import_export as ie  # noqa: E402  (throwaway databases, timed child commands)

REPO = ie.REPO
GOAL_SECONDS = 10.0  # 100,000 solutions queued, command and API
GOAL_RECORDS = 100_000
WORDS = ("apples", "boxes", "train", "each", "total", "twice", "remaining", "costs", "dollars", "share", "equal",
         "number", "product", "sum", "difference", "first", "second", "after", "before", "minutes", "distance")


def _text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    n = 0
    while n < chars:
        w = rng.choice(WORDS) if rng.random() < 0.8 else str(rng.randint(2, 999))
        out.append(w)
        n += len(w) + 1
    return " ".join(out)


def write_records(path: Path, n: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            answer = str(rng.randint(1, 9999))
            steps = [f"Step {k + 1}: {_text(rng, 72)}." for k in range(7)]
            steps.append(f"So it is {answer}.\n\n# Answer\n\n{answer}")
            f.write(json.dumps({"problem": f"Problem {i}: {_text(rng, 190)}?", "ground_truth_answer": answer,
                                "steps": steps, "answer": answer, "generator": "bench", "id": f"bench-{i}"}) + "\n")
    return path.stat().st_size


def manage(db, *argv: str) -> str:
    proc = subprocess.run([sys.executable, "manage.py", *argv], cwd=REPO, env=ie.child_env(db), capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"manage.py {argv[0]} failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return proc.stdout


def check(db, n: int) -> dict:
    """Solutions, queue entries and their order, read back from the database."""
    out = manage(db, "shell", "-c", (
        "import json\n"
        "from labeling.models import QueueEntry, Solution\n"
        "ids = list(QueueEntry.objects.filter(is_open=True).order_by('-priority', 'id')"
        ".values_list('solution__source_id', flat=True))\n"
        "print('CHECK ' + json.dumps({'solutions': Solution.objects.count(), 'queued': len(ids),"
        " 'in_file_order': ids == sorted(ids, key=lambda s: int(s.split('-')[1]))}))"))
    got = json.loads(next(line for line in out.splitlines() if line.startswith("CHECK "))[6:])
    got["ok"] = got["solutions"] == n and got["queued"] == n and got["in_file_order"]
    return got


def by_command(path: Path, n: int, admin_url: str, scratch: Path, profile: bool) -> dict:
    with ie.BenchDatabase(admin_url, scratch, f"cmd{n}") as db:
        ie.migrate(db)
        prof = scratch / f"import-solutions-{n}.prof" if profile else None
        r = ie.run_child(db, ["import_solutions", str(path), "--enqueue", "--no-progress"], prof)
        return {"seconds": r["seconds"], "cpu_s": r["cpu_s"], "process_s": r["process_wall_s"], "rss_mb": r["rss_mb"],
                "check": check(db, n), "profile": str(prof) + ".txt" if prof else None}


def multipart(path: Path, fields: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@contextlib.contextmanager
def _environ(**values):
    """These variables in this process's environment, which the gunicorn harness hands its server."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def upload_and_wait(port: int, token: str, path: Path) -> tuple[dict, float, float]:
    """POST the file with enqueue, poll the job until it ends: (job, seconds to accepted, seconds to done)."""
    body, ctype = multipart(path, {"format": "jsonl", "enqueue": "true"})
    auth = {"Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    conn.request("POST", "/api/imports/", body, {**auth, "Content-Type": ctype})
    resp = conn.getresponse()
    job = json.loads(resp.read())
    if resp.status != 202:
        raise SystemExit(f"POST /api/imports/ answered {resp.status}: {job}")
    accepted = time.perf_counter() - t0
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        time.sleep(0.05)
        conn.request("GET", f"/api/imports/{job['id']}/", headers=auth)
        job = json.loads(conn.getresponse().read())
    return job, accepted, time.perf_counter() - t0


@contextlib.contextmanager
def stepwise_server(db, redis_url: str, scratch: Path, tag: str):
    """gunicorn (2 workers x 2 threads) and one Celery worker on Redis, both on `db`: what runs the jobs."""
    env = {**ie.child_env(db), "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "config.settings",
           "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1",
                               "--loglevel", "WARNING", "--without-gossip", "--without-mingle"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=open(scratch / f"worker-{tag}.log", "w"),
                              start_new_session=True)
    try:
        with _environ(REDIS_URL=redis_url), ann.Gunicorn(db.url, 2, 2, scratch) as server:
            time.sleep(3)  # the worker's start-up (its own Django set-up), outside any timing
            yield server
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)


def admin_token(db) -> str:
    """A superuser and an API token of theirs, in `db`."""
    manage(db, "shell", "-c", "from django.contrib.auth import get_user_model\n"
            "get_user_model().objects.create_superuser('bench', 'bench@example.org', 'bench-Secret-42')")
    return manage(db, "create_api_token", "bench", "bench", "--actor", "bench").strip().splitlines()[-1]


def by_api(path: Path, n: int, admin_url: str, scratch: Path, redis_url: str) -> dict:
    with ie.BenchDatabase(admin_url, scratch, f"api{n}") as db:
        ie.migrate(db)
        token = admin_token(db)
        with stepwise_server(db, redis_url, scratch, str(n)) as server:
            job, accepted, seconds = upload_and_wait(server.port, token, path)
        if job["status"] != "succeeded":
            raise SystemExit(f"the import job ended {job['status']}: {job.get('error_message')}")
        return {"seconds": seconds, "accepted_s": accepted, "enqueued": job["stats"].get("enqueued"),
                "check": check(db, n)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--no-api", action="store_true", help="the command only")
    p.add_argument("--profile", action="store_true", help="cProfile the command (its time is then inflated)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    admin_url = os.environ.get("DATABASE_URL") or ann.DEFAULT_ADMIN_URL
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    runs = []
    with tempfile.TemporaryDirectory(prefix="stepwise-bench-solutions-") as tmp:
        scratch = Path(tmp)
        for n in args.records:
            path = scratch / f"solutions-{n}.jsonl"
            size = write_records(path, n)
            ie.log(f"{n} records, {size / 1e6:.1f} MB")
            run = {"records": n, "mb": size / 1e6, "command": by_command(path, n, admin_url, scratch, args.profile)}
            if args.profile:
                print(Path(run["command"]["profile"]).read_text()[:6000])
            if not args.no_api:
                run["api"] = by_api(path, n, admin_url, scratch, redis_url)
            runs.append(run)
            path.unlink()
    if args.json:
        print(json.dumps(runs, indent=1))
        return 0
    print(f"{'records':>8} {'MB':>6} {'command s':>10} {'process s':>10} {'RSS MB':>7} {'API s':>7} {'accepted s':>10}"
          "  checks")
    for r in runs:
        c, a = r["command"], r.get("api") or {}
        checks = "ok" if c["check"]["ok"] and (not a or a["check"]["ok"]) else f"FAILED {c['check']} {a.get('check')}"
        print(f"{r['records']:>8} {r['mb']:>6.1f} {c['seconds']:>10.2f} {c['process_s']:>10.2f} {c['rss_mb']:>7.0f} "
              f"{a.get('seconds', float('nan')):>7.2f} {a.get('accepted_s', float('nan')):>10.2f}  {checks}")
    big = [r for r in runs if r["records"] >= GOAL_RECORDS]
    for r in big:
        worst = max(r["command"]["seconds"], (r.get("api") or {}).get("seconds", 0))
        print(f"goal: {GOAL_RECORDS} queued in <= {GOAL_SECONDS:.0f} s by command and API: "
              f"{'PASS' if worst <= GOAL_SECONDS * r['records'] / GOAL_RECORDS else 'MISS'} ({worst:.1f} s)")
    if len(runs) > 1:
        print(f"peak RSS of the command, {runs[-1]['records']} vs {runs[0]['records']} records: "
              f"{runs[-1]['command']['rss_mb'] / runs[0]['command']['rss_mb']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
