"""The import attacks of issue 25 (defects 5, 7, 8) at their original size, against the import limits' defaults.

    .venv/bin/python bench/import_bombs.py                        # this checkout, every attack
    .venv/bin/python bench/import_bombs.py --repo /tmp/old --only parquet   # another checkout (before the fix)
    .venv/bin/python bench/import_bombs.py --scale 0.1            # smaller bombs (a tenth of the bytes)

Each bomb is written to a temporary folder by a child process of its own (a child's peak RSS counts what it
inherited from its parent at fork, so the parent stays small), then imported by `manage.py import_solutions FILE`
in a fresh child process against a throwaway SQLite database (migrated once); the child's wall time and peak RSS
(os.wait4) and the last line of its answer are printed. Attacks:

- parquet: 64 rows naming one 16 MiB `problem`, dictionary-encoded (the file: a few KB);
- newlines: a gzip of 1.2 GB of newlines (about 1.2 MB);
- json-string: a gzipped JSON array whose one record holds a 1.2 GB string;
- steps: a JSONL solution of 10,000 steps.

`--timeout` (default 900 s) stops a child that runs longer (reported as such).
"""
from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def parquet_bomb(folder: Path, scale: float) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "bomb.parquet"
    # a dictionary array: the 16 MiB value once in memory here too
    problem = pa.DictionaryArray.from_arrays(pa.array([0] * 64, pa.int32()), pa.array(["x" * int(16 * MIB * scale)]))
    table = pa.table({"problem": problem, "ground_truth_answer": ["2"] * 64, "steps": [["1+1=2"]] * 64})
    pq.write_table(table, path, use_dictionary=True, compression="zstd")
    return path


def newline_bomb(folder: Path, scale: float) -> Path:
    path = folder / "blank.jsonl.gz"
    chunk = b"\n" * MIB
    with gzip.open(path, "wb", compresslevel=9) as f:
        for _ in range(int(1200 * scale)):
            f.write(chunk)
    return path


def string_bomb(folder: Path, scale: float) -> Path:
    path = folder / "string.json.gz"
    chunk = b"x" * MIB
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b'[{"id": "a", "problem": "')
        for _ in range(int(1200 * scale)):
            f.write(chunk)
        f.write(b'", "steps": ["s"], "label": -1}]')
    return path


def steps_bomb(folder: Path, scale: float) -> Path:
    path = folder / "steps.jsonl"
    rec = {"problem": "What is 1+1?", "ground_truth_answer": "2", "steps": [f"step {i}" for i in range(10_000)]}
    path.write_bytes(orjson.dumps(rec) + b"\n")
    return path


MADE = {"parquet": "bomb.parquet", "newlines": "blank.jsonl.gz", "json-string": "string.json.gz",
        "steps": "steps.jsonl"}
ATTACKS = {"parquet": parquet_bomb, "newlines": newline_bomb, "json-string": string_bomb, "steps": steps_bomb}


def run(repo: Path, env: dict, args: list[str], timeout: float) -> tuple[float, float, int | None, str]:
    """(seconds, peak RSS in MB, exit code or None when stopped at the timeout, the answer's last line) of one
    child, its RSS from its own rusage (os.wait4)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "manage.py", *args], cwd=repo, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        stopped = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout and not stopped:
                proc.kill()
                stopped = True
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        lines = [x.strip() for x in out.read().decode(errors="replace").splitlines() if x.strip()]
    answer = next((x for x in reversed(lines) if "Error" in x or "records" in x), lines[-1] if lines else "")
    return seconds, usage.ru_maxrss / 1024, None if stopped else proc.returncode, answer[:220]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=REPO, help="the checkout whose manage.py imports (default: this)")
    ap.add_argument("--only", choices=sorted(ATTACKS), action="append")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--make", choices=sorted(ATTACKS), help=argparse.SUPPRESS)  # the child that writes a bomb
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    o = ap.parse_args()
    if o.make:
        ATTACKS[o.make](o.folder, o.scale)
        return
    with tempfile.TemporaryDirectory(prefix="stepwise-bombs-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "MEDIA_ROOT": str(folder / "m")}
        env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=o.repo, env=env, check=True)
        print(f"repo {o.repo}  scale {o.scale}  python {sys.version.split()[0]}  {time.strftime('%Y-%m-%d')}")
        print(f"{'attack':<12} {'file':>10} {'seconds':>8} {'peak RSS MB':>12}  answer")
        for name in o.only or ATTACKS:
            subprocess.run([sys.executable, __file__, "--make", name, "--scale", str(o.scale), "--folder", str(folder)],
                           check=True)
            path = next(p for p in folder.iterdir() if p.name.startswith(MADE[name]))
            size = path.stat().st_size
            seconds, rss, code, answer = run(o.repo, env, ["import_solutions", str(path), "--no-progress"],
                                             o.timeout)
            state = "stopped" if code is None else ("refused" if code else "imported")
            print(f"{name:<12} {size:>10} {seconds:>8.1f} {rss:>12.0f}  {state}: {answer}", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
