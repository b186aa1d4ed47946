"""PRM800K import/export benchmark at PRM800K scale.

    .venv/bin/python bench/import_export.py                      # 100k records (+ a 10k run for the RSS ratio)
    .venv/bin/python bench/import_export.py --records 10000      # quick run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import_export.py

What it does, in one run:

1. writes a synthetic, deterministic (``--seed``) PRM800K-shaped JSONL file: phase-1 style
   records (question = problem + ground_truth_answer, several rated completions per step,
   human completions) mixed with phase-2 style records (pre-generated solutions, verifier
   scores, generations, quality-control and screening passes), ~12 records per distinct
   problem, ~10 step ratings per record, a pool of a few hundred labeller UUIDs and a
   unique timestamp per record;
2. times a bare orjson baseline on that file: read + ``orjson.loads`` every line, and
   ``orjson.dumps`` + write every parsed record;
3. creates a throwaway database (PostgreSQL: ``stepwise_bench_<n>`` on the server named by
   DATABASE_URL, which is only used as the admin connection; otherwise a temporary SQLite
   file), migrates it, and runs ``import_prm800k FILE --no-progress`` and
   ``export_prm800k OUT --include-qc --no-progress`` each in a fresh child process that
   reports its own time and peak RSS (``--include-qc`` so every input record comes back);
4. checks the export: same number of lines, and every exported record equal (as a JSON
   value) to its input record;
5. with ``--rss-compare`` (on by default from 100k records) repeats 1-4 for 10k records in a
   second fresh database and reports RSS(export N) / RSS(export 10k);
6. prints a table with PASS/MISS against the goals (``--json`` prints the figures as JSON),
   drops the databases and, without ``--keep``, deletes the files.

``--profile`` runs the two commands under cProfile and writes ``*.prof`` files and
``*.prof.txt`` summaries into the run folder (timings are then inflated).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "bench" / "out"

GOAL_IMPORT_RATIO = 5.0  # import time <= 5x bare parse
GOAL_EXPORT_RATIO = 3.0  # export time <= 3x bare dump
GOAL_RSS_RATIO = 1.2  # peak RSS of export at N records <= 1.2x that at 10k records
COMPARE_RECORDS = 10_000
PROBLEMS_PER_RECORD = 0.12  # ~12k distinct problems at 100k records
LABELERS = 300
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------

WORDS = (
    "the of and to we a is that so this for then can by with number which sum value each equal "
    "let's find first second since therefore now note both sides get need integer positive "
    "multiply divide subtract add term terms factor root roots equation solve solution gives "
    "triangle angle side length area circle radius point points line slope function answer "
    "remainder prime digits divisible probability ways choose total count case cases possible "
    "greater less than at least most only not are be if it its in on as an or from means also "
    "square cube expression simplify substitute plug into means same because right left"
).split()

LATEX = (
    "$x^2 + {a}x - {b} = 0$", "$\\frac{{{a}}}{{{b}}}$", "$\\sqrt{{{a}}}$", "${a}\\pi$", "$\\binom{{{a}}}{{{b}}}$",
    "$\\angle ABC = {a}^\\circ$", "$f(x) = {a}x + {b}$", "$a_{{n+1}} = a_n + {a}$", "$x = {a}$", "$y = -{b}$",
    "$\\log_{a} {b}$", "${a} \\cdot {b} = {c}$", "$\\sum_{{k=1}}^{{{a}}} k^2$", "$|z - {a}i| = {b}$",
    "$\\overline{{AB}}$", "$\\triangle PQR$", "${a}! = {c}$", "$\\left(\\frac{{{a}}}{{{b}}}\\right)^2$",
    "$\\{{1, 2, \\dots, {a}\\}}$", "$x \\equiv {a} \\pmod{{{b}}}$", "$\\tan \\theta = \\frac{{{a}}}{{{b}}}$",
    "$\\$1.{a}$", "${a}\\%$", "$\\text{{cm}}^2$", "\"{a}\"", "({a}, -{b})", "{a}", "{c}", "−{a}", "≤ {b}", "π",
)

ANSWERS = ("{a}", "{c}", "\\frac{{{a}}}{{{b}}}", "{a}\\sqrt{{{b}}}", "({a}, -{b})", "{a}\\pi", "-{a}", "{a}_{b}",
           "\\text{{(C)}}", "{a}^\\circ", "x^2 + {a}x + {b}", "[{a}, {c})")


def _fill(template: str, rng: random.Random) -> str:
    return template.format(a=rng.randint(2, 99), b=rng.randint(2, 19), c=rng.randint(100, 99999))


def _sentence(rng: random.Random, target: int, end: str = ".") -> str:
    parts: list[str] = []
    n = 0
    while n < target:
        tok = _fill(rng.choice(LATEX), rng) if rng.random() < 0.18 else rng.choice(WORDS)
        parts.append(tok)
        n += len(tok) + 1
    s = " ".join(parts)
    return s[0].upper() + s[1:] + end


def _length(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(rng.lognormvariate(math.log(median), sigma))))


class Corpus:
    """Pools of texts, drawn once per seed, that records pick from (fast, realistic sizes)."""

    def __init__(self, rng: random.Random, n_problems: int, n_sentences: int = 30_000):
        self.sentences = [_sentence(rng, _length(rng, 85, 0.55, 8, 500)) for _ in range(n_sentences)]
        self.labelers = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(LABELERS)]
        self.problems = [self._problem(rng) for _ in range(n_problems)]

    def _problem(self, rng: random.Random) -> dict:
        text = " ".join(_sentence(rng, _length(rng, 90, 0.5, 20, 400)) for _ in range(rng.randint(1, 2)))
        text += " " + _sentence(rng, _length(rng, 50, 0.4, 10, 200), end="?")
        answer = _fill(rng.choice(ANSWERS), rng)
        sol_parts, n = [], 0
        target = _length(rng, 800, 0.6, 150, 6000)
        while n < target:
            s = self.step(rng)
            sol_parts.append(s)
            n += len(s) + 1
        solution = " ".join(sol_parts) + f" The answer is $\\boxed{{{answer}}}$."
        return {"problem": text, "ground_truth_solution": solution, "ground_truth_answer": answer}

    def step(self, rng: random.Random) -> str:
        r = rng.random()
        s = rng.choice(self.sentences)
        if r < 0.70:
            return s
        if r < 0.95:
            return s + " " + rng.choice(self.sentences)
        return s + "\n\n$$" + _fill(rng.choice(LATEX), rng).strip("$") + "$$"


def _flag(rng: random.Random, p_true: float = 0.01):
    return rng.random() < p_true


def _phase1_label(rng: random.Random, corpus: Corpus) -> tuple[dict, int]:
    r = rng.random()
    reason = "solution" if r < 0.70 else "found_error" if r < 0.90 else "give_up" if r < 0.97 else "bad_problem"
    n = rng.randint(2, 10)
    steps, rated = [], 0
    for i in range(n):
        last = i == n - 1
        k = 1 if rng.random() < 0.55 else rng.randint(2, 7)
        comps = []
        for j in range(k):
            rating = -1 if last and reason == "found_error" else rng.choices((1, 0, -1), (0.6, 0.2, 0.2))[0]
            if j > 0 and rng.random() < 0.03:
                rating = None  # real data has unrated alternatives
            comps.append({"text": corpus.step(rng), "rating": rating, "flagged": _flag(rng, 0.02)})
            rated += rating is not None
        human, chosen = None, None
        if not (last and reason != "solution"):
            good = [j for j, c in enumerate(comps) if c["rating"] == 1]
            if good and rng.random() < 0.9:
                chosen = rng.choice(good)
            else:
                human = {"text": corpus.step(rng), "rating": None, "source": "human", "flagged": False}
        steps.append({"completions": comps, "human_completion": human, "chosen_completion": chosen})
    label = {"steps": steps, "total_time": _length(rng, 200_000, 0.8, 5_000, 5_000_000), "finish_reason": reason}
    return label, rated


def _phase2_solution(rng: random.Random, corpus: Corpus, problem: dict) -> tuple[list[str], str, float]:
    n = _length(rng, 10, 0.5, 2, 45)
    steps = [corpus.step(rng) for _ in range(n)]
    answer = problem["ground_truth_answer"] if rng.random() < 0.4 else _fill(rng.choice(ANSWERS), rng)
    steps[-1] += f"\n\n# Answer\n\n{answer}"
    score = 10 ** rng.uniform(-6, 0) if rng.random() < 0.9 else rng.random()
    return steps, answer, score


def _phase2_label(rng: random.Random, corpus: Corpus, pre: list[str]) -> tuple[dict, int]:
    n = len(pre)
    r = rng.random()
    reason = "found_error" if r < 0.55 else "solution" if r < 0.95 else "give_up" if r < 0.985 else "bad_problem"
    stop = n if reason == "solution" else rng.randrange(n)
    steps, rated = [], 0
    for i in range(stop):
        rating = 1 if rng.random() < 0.75 else 0
        steps.append({"completions": [{"text": pre[i], "rating": rating, "flagged": True if _flag(rng) else None}],
                      "human_completion": None, "chosen_completion": 0})
        rated += 1
    if reason != "solution":
        first = -1 if reason == "found_error" else None
        comps = [{"text": pre[stop], "rating": first, "flagged": None}]
        rated += first is not None
        if reason == "found_error":
            for _ in range(rng.choice((0, 1, 1, 2, 3, 4))):
                rating = rng.choice((1, 1, 0, -1))
                comps.append({"text": corpus.step(rng), "rating": rating, "flagged": _flag(rng, 0.03)})
                rated += 1
        human = None
        if reason == "found_error" and rng.random() < 0.02:
            human = {"text": corpus.step(rng), "rating": None, "source": "human", "flagged": False}
        steps.append({"completions": comps, "human_completion": human, "chosen_completion": None})
    label = {"steps": steps, "total_time": _length(rng, 250_000, 0.9, 5_000, 8_000_000), "finish_reason": reason}
    return label, rated


def generate(path: Path, records: int, seed: int) -> dict:
    """Write `records` synthetic PRM800K records to `path`; return what was written."""
    rng = random.Random(seed)
    n_problems = max(1, round(records * PROBLEMS_PER_RECORD))
    corpus = Corpus(rng, n_problems)
    # Quality-control and screening solutions are served to many labellers: a small shared pool.
    qc = []
    used_problems = set()
    for kind in ("qc",) * 40 + ("screening",) * 25:
        pi = rng.randrange(n_problems)
        used_problems.add(pi)
        problem = corpus.problems[pi]
        steps, answer, score = _phase2_solution(rng, corpus, problem)
        qc.append((kind, problem, steps, answer, score, rng.randint(1, 10) if kind == "qc" else -1))
    ts = datetime(2022, 7, 1, 9, 0, 0, 123456)
    stats = {"records": 0, "step_ratings": 0, "phase1": 0, "phase2": 0, "qc": 0, "screening": 0,
             "problems_pool": n_problems, "bytes": 0}
    with open(path, "wb", buffering=1 << 20) as f:
        for _ in range(records):
            ts += timedelta(microseconds=rng.randint(1, 30_000_000))  # strictly increasing: unique per record
            rec = {"labeler": rng.choice(corpus.labelers), "timestamp": ts.strftime(TIMESTAMP_FORMAT)}
            r = rng.random()
            if r < 0.10:
                pi = rng.randrange(n_problems)
                problem = corpus.problems[pi]
                rec.update(generation=None, is_quality_control_question=False, is_initial_screening_question=False,
                           question={"problem": problem["problem"],
                                     "ground_truth_answer": problem["ground_truth_answer"]})
                label, rated = _phase1_label(rng, corpus)
                stats["phase1"] += 1
                used_problems.add(pi)
            else:
                if r < 0.135:
                    kind, problem, steps, answer, score, gen = rng.choice(qc)
                    stats[kind] += 1
                else:
                    pi = rng.randrange(n_problems)
                    problem = corpus.problems[pi]
                    used_problems.add(pi)
                    steps, answer, score = _phase2_solution(rng, corpus, problem)
                    kind, gen = "", rng.randint(1, 10)
                rec.update(generation=gen, is_quality_control_question=kind == "qc",
                           is_initial_screening_question=kind == "screening",
                           question={"problem": problem["problem"],
                                     "ground_truth_solution": problem["ground_truth_solution"],
                                     "ground_truth_answer": problem["ground_truth_answer"],
                                     "pre_generated_steps": steps, "pre_generated_answer": answer,
                                     "pre_generated_verifier_score": score})
                label, rated = _phase2_label(rng, corpus, steps)
                stats["phase2"] += 1
            rec["label"] = label
            line = orjson.dumps(rec) + b"\n"
            f.write(line)
            stats["records"] += 1
            stats["step_ratings"] += rated
            stats["bytes"] += len(line)
    stats["problems_used"] = len(used_problems)
    return stats


# --------------------------------------------------------------------------------------
# Bare orjson baseline
# --------------------------------------------------------------------------------------

def bare_baseline(src: Path, dst: Path, chunk: int = 2000) -> dict:
    """Time read+loads of every line, and dumps+write of every parsed record (chunked, flat memory)."""
    parse_s = dump_s = 0.0
    n = 0
    with open(src, "rb") as f, open(dst, "wb", buffering=1 << 20) as out:
        while True:
            t0 = time.perf_counter()
            recs = [orjson.loads(line) for line in islice(f, chunk)]
            t1 = time.perf_counter()
            parse_s += t1 - t0
            if not recs:
                break
            n += len(recs)
            for rec in recs:
                out.write(orjson.dumps(rec) + b"\n")
            dump_s += time.perf_counter() - t1
        t0 = time.perf_counter()
        out.flush()
        dump_s += time.perf_counter() - t0
    return {"parse_s": parse_s, "dump_s": dump_s, "lines": n}


# --------------------------------------------------------------------------------------
# Throwaway databases
# --------------------------------------------------------------------------------------

LIBPQ_PARAMS = frozenset((
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "channel_binding", "gssencmode",
    "connect_timeout", "application_name", "options", "target_session_attrs", "passfile", "hostaddr", "host", "port",
    "user", "password", "client_encoding", "keepalives", "keepalives_idle", "service",
))


class BenchDatabase:
    """A fresh database for one measurement series; never the developer's own."""

    def __init__(self, admin_url: str | None, scratch: Path, tag: str, keep: bool = False):
        self.admin_url, self.scratch, self.tag, self.keep = admin_url, scratch, tag, keep
        self.name: str | None = None
        self.url: str | None = None
        self.vendor = "sqlite"

    def __enter__(self) -> BenchDatabase:
        if self.admin_url and not urlsplit(self.admin_url).scheme.startswith("sqlite"):
            self._create_pg()
        else:
            path = self.scratch / f"bench-{self.tag}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            self.name, self.url = str(path), f"sqlite:///{path}"
        return self

    def _pg_admin(self):
        import psycopg

        parts = urlsplit(self.admin_url)
        # Django-only OPTIONS in the query string (e.g. server_side_binding) are not libpq parameters.
        query = "&".join(kv for kv in parts.query.split("&") if kv.split("=")[0] in LIBPQ_PARAMS)
        conninfo = urlunsplit(("postgresql", parts.netloc, "/postgres", query, ""))
        return psycopg.connect(conninfo, autocommit=True)

    def _create_pg(self) -> None:
        import psycopg
        from psycopg import sql

        self.vendor = "postgresql"
        with self._pg_admin() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'stepwise_bench_%'")
            taken = {r[0] for r in rows}
            n = 1
            while True:
                name = f"stepwise_bench_{n}"
                if name not in taken:
                    try:
                        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                        break
                    except psycopg.errors.DuplicateDatabase:
                        pass
                n += 1
        parts = urlsplit(self.admin_url)
        self.name = name
        self.url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    def __exit__(self, *exc) -> None:
        if self.keep or self.name is None:
            if self.name:
                log(f"kept database {self.name}")
            return
        if self.vendor == "postgresql":
            from psycopg import sql

            with self._pg_admin() as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            log(f"dropped database {self.name}")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.name}{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------

# Runs one management command in a fresh interpreter and reports its own time and peak RSS.
# Peak RSS is VmHWM of the child's own address space: on Linux ru_maxrss(RUSAGE_SELF) of a child
# also counts the high-water mark of the parent that spawned it (the forked/vforked image is folded
# in at exec), so a large benchmark process would inflate every figure. ru_maxrss is the fallback
# elsewhere (bytes on macOS).
CHILD = r"""
import json, os, resource, sys, time

def peak_rss_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r // 1024 if sys.platform == "darwin" else r

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.core.management import call_command
spec = json.loads(sys.argv[1])
prof = None
if spec.get("profile"):
    import cProfile
    prof = cProfile.Profile()
ru0 = resource.getrusage(resource.RUSAGE_SELF)
rss_setup = peak_rss_kb()
t0 = time.perf_counter()
if prof:
    prof.enable()
call_command(*spec["argv"])
if prof:
    prof.disable()
elapsed = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
if prof:
    import io, pstats
    prof.dump_stats(spec["profile"])
    with open(spec["profile"] + ".txt", "w") as out:
        for key in ("tottime", "cumulative"):
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats(key).print_stats(35)
            out.write(s.getvalue())
print("BENCH_RESULT " + json.dumps({
    "seconds": elapsed,
    "cpu_s": (ru.ru_utime - ru0.ru_utime) + (ru.ru_stime - ru0.ru_stime),
    "maxrss_kb": peak_rss_kb(),
    "ru_maxrss_raw": ru.ru_maxrss,
    "maxrss_after_setup_kb": rss_setup,
}), flush=True)
"""


def child_env(db: BenchDatabase) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = db.url
    env["DEBUG"] = "False"  # no query log: measure what production does
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def run_child(db: BenchDatabase, argv: list[str], profile: Path | None = None) -> dict:
    spec = {"argv": argv, "profile": str(profile) if profile else None}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], cwd=REPO, env=child_env(db),
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"{' '.join(argv[:1])} failed with exit status {proc.returncode}")
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line[len("BENCH_RESULT "):])
        elif line.strip():
            log(f"  {argv[0]}: {line.strip()}")
    if result is None:
        raise SystemExit(f"{argv[0]}: child reported no result")
    result["process_wall_s"] = wall
    result["rss_mb"] = result["maxrss_kb"] / 1024
    return result


def migrate(db: BenchDatabase) -> None:
    proc = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO,
                          env=child_env(db), capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit("migrate failed")


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------

def _first_difference(a, b, where: str = "") -> str:
    if type(a) is not type(b):
        return f"{where or '<record>'}: {type(a).__name__} {a!r:.80} != {type(b).__name__} {b!r:.80}"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{where or '<record>'}: keys differ: {sorted(set(a) ^ set(b))}"
        for k in a:
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{where}.{k}" if where else k)
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return f"{where}: {a!r:.80} != {b!r:.80}"


def _key_order(rec: dict) -> tuple:
    return tuple(rec), tuple(rec.get("question", ())), tuple(rec.get("label", ()))


def verify(src: Path, exported: Path) -> dict:
    """Every exported line, in id (= input) order, equals its input record as a JSON value."""
    lines_in = lines_out = equal = identical = key_order = 0
    first_bad = None
    with open(src, "rb") as a, open(exported, "rb") as b:
        for la, lb in zip(a, b, strict=False):
            lines_in += 1
            lines_out += 1
            if la == lb:
                identical += 1  # same bytes: same value, same key order
                equal += 1
                key_order += 1
                continue
            ra, rb = orjson.loads(la), orjson.loads(lb)
            if ra == rb:
                equal += 1
                key_order += _key_order(ra) == _key_order(rb)
            elif first_bad is None:
                first_bad = f"line {lines_in}: {_first_difference(ra, rb)}"
        lines_in += sum(1 for _ in a)
        lines_out += sum(1 for _ in b)
    ok = lines_in == lines_out == equal
    return {"ok": ok, "lines_in": lines_in, "lines_out": lines_out, "equal": equal, "byte_identical": identical,
            "key_order_same": key_order, "first_difference": first_bad}


# --------------------------------------------------------------------------------------
# One series: generate, baseline, import, export, verify
# --------------------------------------------------------------------------------------

def run_series(records: int, seed: int, run_dir: Path, admin_url: str | None, *, profile: bool,
               keep_db: bool, baseline_repeat: int = 3) -> dict:
    tag = f"{records}"
    src = run_dir / f"prm800k-{records}-seed{seed}.jsonl"
    log(f"generating {records:,} records -> {src}")
    t0 = time.perf_counter()
    gen = generate(src, records, seed)
    log(f"  {gen['records']:,} records, {gen['step_ratings']:,} step ratings, {gen['bytes'] / 1e6:.1f} MB "
        f"in {time.perf_counter() - t0:.1f}s")

    log(f"bare orjson baseline (best of {baseline_repeat})")
    tries = []
    for _ in range(baseline_repeat):
        tries.append(bare_baseline(src, run_dir / f"bare-dump-{tag}.jsonl"))
        (run_dir / f"bare-dump-{tag}.jsonl").unlink()
    base = {"parse_s": min(t["parse_s"] for t in tries), "dump_s": min(t["dump_s"] for t in tries)}
    log("  parse " + ", ".join(f"{t['parse_s']:.2f}" for t in tries) + "s; dump "
        + ", ".join(f"{t['dump_s']:.2f}" for t in tries) + "s")

    out = run_dir / f"export-{tag}.jsonl"
    with BenchDatabase(admin_url, run_dir, tag, keep=keep_db) as db:
        log(f"database {db.name} ({db.vendor}): migrating")
        migrate(db)
        log("import_prm800k")
        imp = run_child(db, ["import_prm800k", str(src), "--no-progress"],
                        run_dir / f"import-{tag}.prof" if profile else None)
        log(f"  {imp['seconds']:.2f}s, peak RSS {imp['rss_mb']:.0f} MB")
        log("export_prm800k")
        exp = run_child(db, ["export_prm800k", str(out), "--include-qc", "--no-progress"],
                        run_dir / f"export-{tag}.prof" if profile else None)
        log(f"  {exp['seconds']:.2f}s, peak RSS {exp['rss_mb']:.0f} MB")
        vendor = db.vendor
    log("verifying export")
    ver = verify(src, out)
    log(f"  lines {ver['lines_in']:,} -> {ver['lines_out']:,}, equal {ver['equal']:,}, "
        f"byte-identical {ver['byte_identical']:,}" + (f"; FIRST DIFFERENCE {ver['first_difference']}"
                                                        if ver["first_difference"] else ""))
    return {
        "records": gen["records"], "step_ratings": gen["step_ratings"], "file_mb": gen["bytes"] / 1e6,
        "generated": gen, "database": vendor,
        "bare_parse_s": base["parse_s"], "bare_dump_s": base["dump_s"],
        "import_s": imp["seconds"], "export_s": exp["seconds"],
        "import_process_s": imp["process_wall_s"], "export_process_s": exp["process_wall_s"],
        "import_cpu_s": imp["cpu_s"], "export_cpu_s": exp["cpu_s"],
        "import_parse_ratio": imp["seconds"] / base["parse_s"], "export_dump_ratio": exp["seconds"] / base["dump_s"],
        "import_rss_mb": imp["rss_mb"], "export_rss_mb": exp["rss_mb"],
        "import_rss_after_setup_mb": imp["maxrss_after_setup_kb"] / 1024,
        "export_rss_after_setup_mb": exp["maxrss_after_setup_kb"] / 1024,
        "verify": ver, "files": {"input": str(src), "export": str(out)},
    }


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------

def _verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value <= goal else "MISS"


def summarize(main: dict, compare: dict | None) -> dict:
    rss_ratio = compare and main["export_rss_mb"] / compare["export_rss_mb"]
    goals = {
        "import_parse_ratio": {"value": main["import_parse_ratio"], "goal": GOAL_IMPORT_RATIO,
                               "result": _verdict(main["import_parse_ratio"], GOAL_IMPORT_RATIO)},
        "export_dump_ratio": {"value": main["export_dump_ratio"], "goal": GOAL_EXPORT_RATIO,
                              "result": _verdict(main["export_dump_ratio"], GOAL_EXPORT_RATIO)},
        "export_rss_ratio": {"value": rss_ratio or None, "goal": GOAL_RSS_RATIO,
                             "result": _verdict(rss_ratio or None, GOAL_RSS_RATIO)},
        "roundtrip": {"result": "PASS" if main["verify"]["ok"] and (not compare or compare["verify"]["ok"])
                      else "FAIL"},
    }
    return {"runs": [r for r in (main, compare) if r], "goals": goals}


def _short(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def print_table(summary: dict) -> None:
    runs = summary["runs"]
    goals = summary["goals"]
    main = runs[0]
    n_label, c_label = _short(main["records"]), _short(COMPARE_RECORDS)
    heads = [f"{r['records']:,} rec" for r in runs]
    rows: list[tuple] = []

    def row(name, key, fmt, goal_key=None, goal_text=""):
        vals = [fmt(r[key]) if callable(fmt) else fmt.format(r[key]) for r in runs]
        verdict = goals[goal_key]["result"] if goal_key else ""
        rows.append((name, *vals, goal_text, verdict))

    row("records", "records", "{:,}")
    row("step ratings", "step_ratings", "{:,}")
    row("file size (MB)", "file_mb", "{:.1f}")
    row("bare parse (s)", "bare_parse_s", "{:.2f}")
    row("bare dump (s)", "bare_dump_s", "{:.2f}")
    row("import (s)", "import_s", "{:.2f}")
    row("export (s)", "export_s", "{:.2f}")
    row("import / parse", "import_parse_ratio", "{:.2f}x", "import_parse_ratio", f"<= {GOAL_IMPORT_RATIO:g}x")
    row("export / dump", "export_dump_ratio", "{:.2f}x", "export_dump_ratio", f"<= {GOAL_EXPORT_RATIO:g}x")
    row("peak RSS import (MB)", "import_rss_mb", "{:.0f}")
    row("peak RSS export (MB)", "export_rss_mb", "{:.0f}")
    row("  RSS after Django setup (MB)", "export_rss_after_setup_mb", "{:.0f}")
    rss = goals["export_rss_ratio"]
    rows.append((f"RSS export {n_label}/{c_label}", f"{rss['value']:.2f}x" if rss["value"] else "not run",
                 *([""] * (len(runs) - 1)), f"<= {GOAL_RSS_RATIO:g}x", rss["result"]))
    rows.append(("round trip (equal/lines)",
                 *(f"{r['verify']['equal']:,}/{r['verify']['lines_in']:,}" for r in runs), "all equal",
                 goals["roundtrip"]["result"]))
    rows.append(("  same key order", *(f"{r['verify']['key_order_same']:,}" for r in runs), "", ""))
    rows.append(("  byte-identical lines", *(f"{r['verify']['byte_identical']:,}" for r in runs), "", ""))
    header = ("metric", *heads, "goal", "result")
    widths = [max(len(str(x[i])) for x in (header, *rows)) for i in range(len(header))]
    sep = "  "
    profiled = ", PROFILED: times inflated by cProfile" if summary["command"]["profile"] else ""
    print(f"PRM800K import/export benchmark ({main['database']}, seed {summary['command']['seed']}{profiled})")
    print(sep.join(str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths,
                                                                                                     strict=True))))
    print(sep.join("-" * w for w in widths))
    for r in rows:
        print(sep.join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                       strict=True))))
    for r in runs:
        if r["verify"]["first_difference"]:
            print(f"first difference ({r['records']:,} records): {r['verify']['first_difference']}")
    print("times: import/export = the management command inside its own process (Django setup excluded); "
          "bare = orjson in the benchmark process, same file.")


# --------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=100_000, help="labelled solutions to generate (default 100000)")
    p.add_argument("--seed", type=int, default=800, help="random seed: same seed, same file (default 800)")
    p.add_argument("--rss-compare", action=argparse.BooleanOptionalAction, default=None,
                   help=f"also run {COMPARE_RECORDS:,} records in a second fresh database and report "
                        f"RSS(export N)/RSS(export {COMPARE_RECORDS:,}) (default: on when records >= 100000)")
    p.add_argument("--keep", action="store_true", help="keep the generated and exported files under bench/out/")
    p.add_argument("--keep-db", action="store_true",
                   help="do not drop the benchmark database(s); a SQLite one lives in the run folder, so add --keep")
    p.add_argument("--out-dir", type=Path, default=OUT_DIR, help="where run folders go (default bench/out/)")
    p.add_argument("--baseline-repeat", type=int, default=3,
                   help="run the bare orjson baseline this many times and keep the fastest (default 3)")
    p.add_argument("--profile", action="store_true", help="run the commands under cProfile (inflates timings)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a goal is missed (a round-trip failure always exits 2)")
    args = p.parse_args(argv)
    if args.records < 1 or args.baseline_repeat < 1:
        p.error("--records and --baseline-repeat must be positive")
    if args.rss_compare is None:
        args.rss_compare = args.records >= 100_000
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    admin_url = os.environ.get("DATABASE_URL") or None
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.keep:
        run_dir = args.out_dir / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{args.records}"
        run_dir.mkdir()
    else:
        run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.out_dir))
    server = "temporary SQLite files"
    if admin_url and not admin_url.startswith("sqlite"):
        server = f"PostgreSQL at {urlsplit(admin_url).hostname}:{urlsplit(admin_url).port or 5432}"
    log(f"run folder {run_dir}; databases: {server}")
    try:
        main_run = run_series(args.records, args.seed, run_dir, admin_url, profile=args.profile, keep_db=args.keep_db,
                              baseline_repeat=args.baseline_repeat)
        compare = None
        if args.rss_compare:
            sub = run_dir / f"compare-{COMPARE_RECORDS}"
            sub.mkdir()
            compare = run_series(COMPARE_RECORDS, args.seed, sub, admin_url, profile=False, keep_db=args.keep_db,
                                 baseline_repeat=args.baseline_repeat)
    finally:
        if not args.keep:
            with contextlib.suppress(OSError):
                shutil.rmtree(run_dir)
    summary = summarize(main_run, compare)
    summary["command"] = {"argv": sys.argv, "profile": args.profile, "seed": args.seed}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_table(summary)
        if args.profile:
            print(f"profiles: {run_dir}/*.prof.txt" if args.keep else "profiles were deleted with the run folder "
                  "(use --keep)")
    if summary["goals"]["roundtrip"]["result"] != "PASS":
        return 2
    missed = any(g["result"] == "MISS" for g in summary["goals"].values())
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
