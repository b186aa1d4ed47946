"""Generation benchmark: samples per second from a real model server, and what the client itself
costs per sample (it must never be the bottleneck).

    .venv/bin/python bench/generation.py                       # transformers serve on a micro model, here
    .venv/bin/python bench/generation.py --base-url http://gpu-1:8000/v1 --model Qwen/Qwen2.5-Math-7B-Instruct

What it does:

1. without --base-url, builds the micro causal model of the tests (tests/policy_server.py) and
   starts `transformers serve` on it (CPU); with --base-url, uses that server (vLLM, SGLang...);
2. in a temporary SQLite database with the demo problems, runs one generation of --problems x
   --samples through the same code a round uses (activelearn.policy.generation.run_chunk:
   requests, splitting, deduplication, storage, grading), timed end to end;
3. reports samples/s, requests/s, the server's time per request (from the client: request
   seconds / requests), and the client's own CPU per sample (this process's CPU time over the
   run, which covers the openai client, splitting, the database writes and the grading), and
   their ratio: client CPU per sample / wall time per sample (well below 1: the server is the
   bottleneck);
4. the same run with the built-in demo policy (no server), to show the pipeline's ceiling.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _setup(tmp: Path):
    os.environ["STEPWISE_VAR_DIR"] = str(tmp / "var")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)


def _run(key, conn_name, samples, problems) -> dict:
    from activelearn.models import GenerationRun
    from activelearn.policy import connection, generation

    conn = connection.resolve(conn_name)
    run = generation.start_run(key, conn, samples, {"problem_cap": problems})
    cpu, wall = time.process_time(), time.monotonic()
    for chunk in generation.RUNS.chunks(run, 8):
        generation.run_chunk(run, conn, chunk)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    run = GenerationRun.objects.get(pk=run.pk)
    n = generation.RUNS.summary(run)["samples"]
    out = {"samples": n, "wall_s": round(wall, 3), "samples_per_s": round(n / wall, 2),
           "client_cpu_ms_per_sample": round(1000 * cpu / n, 3), "requests": run.requests}
    if run.requests:
        out["server_ms_per_request"] = round(1000 * run.request_seconds / run.requests, 2)
        out["requests_per_s"] = round(run.requests / wall, 2)
    out["client_share_of_wall"] = round((cpu / n) / (wall / n), 3)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", help="an OpenAI-compatible server to measure (default: transformers serve here)")
    p.add_argument("--model", help="the model name that server knows (with --base-url)")
    p.add_argument("--endpoint", default="completions", choices=["completions", "chat"])
    p.add_argument("--problems", type=int, default=24)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--max-tokens", type=int, default=48)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stepwise-bench-gen-") as d:
        tmp = Path(d)
        _setup(tmp)
        from activelearn.policy import connection_writes
        from labeling.demo.seed import seed_problems

        seed_problems(n_problems=args.problems, n_solutions=2)
        server = None
        base_url, model = args.base_url, args.model
        if not base_url:
            sys.path.insert(0, str(REPO / "tests"))
            from policy_server import PolicyServer, build_model

            from labeling.demo.problems import generate

            corpus = [t for pr in generate(20, 4, seed=1) for t in (pr.text, *(s for sol in pr.solutions
                                                                                  for s in sol.steps))]
            model_dir = build_model(tmp / "lm", corpus)
            server = PolicyServer(model_dir, tmp / "serve.log").start()
            base_url, model = server.base_url, str(model_dir)
        try:
            connection_writes.create("bench", {"base_url": base_url, "model": model, "endpoint": args.endpoint,
                                         "max_tokens": args.max_tokens, "concurrency": args.concurrency,
                                         "split": "pattern", "split_pattern": r"\s+"})
            result = {"config": {**vars(args), "base_url": base_url},
                      "server": _run("bench-server", "bench", args.samples, args.problems),
                      "demo": _run("bench-demo", "demo", args.samples, args.problems)}
        finally:
            if server:
                server.kill()
            from activelearn.grading import worker_pool

            worker_pool.shutdown_workers()
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"generation: {args.problems} problems x {args.samples} samples, concurrency {args.concurrency}, "
          f"max_tokens {args.max_tokens}, {result['config']['base_url']}")
    for name in ("server", "demo"):
        r = result[name]
        extra = (f", {r['requests']} requests ({r['requests_per_s']}/s), server {r['server_ms_per_request']} ms "
                 f"per request") if r["requests"] else ""
        print(f"  {name:6} {r['samples']} samples in {r['wall_s']} s = {r['samples_per_s']} samples/s{extra}; "
              f"client CPU {r['client_cpu_ms_per_sample']} ms per sample = {100 * r['client_share_of_wall']:.1f}% "
              "of the wall time per sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
