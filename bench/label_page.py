"""The labelling page with a long chain of thought, in headless Chromium: how soon the first screen is painted and
the page is ready to rate (the rail has every step, the first step shows), for a trace of `--steps` steps (300 by
default) in three states: nothing rated yet (one step shown), resumed with every step but one rated (all shown),
and a first-error-mode project (all shown from the start).

    .venv/bin/python bench/label_page.py [--steps 300] [--runs 5]

A scratch instance (SQLite and static files in a temporary folder) served by gunicorn on 127.0.0.1, Debian's
chromium driven by Playwright. Prints the median and the slowest of `--runs` page loads per state: first
contentful paint and ready (both from navigation start, by the browser's clock).
"""
import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "pw-for-the-page-bench"
STATES = ("fresh", "resumed", "first_error_mode")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def trace(n: int, seed: int = 0) -> list[str]:
    """A long chain of thought: steps of prose and inline math, some of them long (folded on the page)."""
    rng = random.Random(seed)
    steps = []
    for i in range(n):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        sentence = f"Next, $${a} \\times {b} = {a * b}$$ so the running total is ${a * b + i}$."
        words = " ".join(rng.choice(["we", "check", "the", "sum", "again", "carefully", "and", "note", "that"])
                         for _ in range(rng.randint(10, 40)))
        text = f"{sentence} {words.capitalize()}."
        if i % 25 == 7:  # now and then a very long step, as reasoning models write them
            text = " ".join([text] * 12)
        steps.append(text)
    steps[-1] += "\n\n# Answer\n\n42"
    return steps


def setup(var: Path, n_steps: int) -> dict:
    os.environ.update({"STEPWISE_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings"})
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from labeling.models import Problem, Project, ProjectMember, Role, Solution
    from labeling.people.accounts import set_user
    from labeling.queue import claims as queue
    from labeling.storage.hashing import problem_hash, solution_hash

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    steps = trace(n_steps)
    users = {}
    fe = Project.objects.create(slug="first-error", name="First-error mode", first_error_mode=True)
    for state in STATES:
        project_id = fe.pk if state == "first_error_mode" else 1
        p = Problem.objects.create(project_id=project_id, text=f"Find the total ({state}).",
                                   content_hash=problem_hash(state), ground_truth_answer="42")
        s = Solution.objects.create(project_id=project_id, problem=p, steps=steps, final_answer="42",
                                    content_hash=solution_hash(p.content_hash, steps, "42"))
        annotator = set_user(f"bench-{state}", PASSWORD, Role.ANNOTATOR)
        annotator.screening_passed_at = timezone.now()
        annotator.save()
        if state == "first_error_mode":
            ProjectMember.objects.filter(user=annotator.user).update(project=fe)
        queue.enqueue([s])
        lease = queue.next_task(annotator, project=project_id)
        assert lease.solution_id == s.pk, lease
        if state == "resumed":
            lease.draft = {"ratings": [{"rating": 1, "flagged": i % 40 == 3} for i in range(n_steps - 1)],
                           "active_ms": 600000}
            lease.save(update_fields=["draft"])
        users[state] = annotator.user.username
    users["phase1"] = _phase1_task(set_user, Project, ProjectMember, Role, timezone)
    return users


def _phase1_task(set_user, Project, ProjectMember, Role, timezone) -> str:
    """A phase-1 project with the sample's first phase-1 record as a task, for the screenshot."""
    import json

    from labeling.imports.phase1 import task_from_record
    from labeling.imports.writer import BatchWriter, ImportStats

    project = Project.objects.create(slug="phase1", name="PRM800K phase 1", protocol="alternatives")
    sample = REPO.parent / "shared" / "data" / "prm800k" / "sample.jsonl"
    record = next(r for r in map(json.loads, sample.read_text().splitlines())
                  if "pre_generated_steps" not in r["question"] and len(r["label"]["steps"]) >= 3)
    BatchWriter(ImportStats(), enqueue=True, project=project.pk).write([task_from_record(record)])
    annotator = set_user("bench-phase1", PASSWORD, Role.ANNOTATOR)
    annotator.screening_passed_at = timezone.now()
    annotator.save()
    ProjectMember.objects.filter(user=annotator.user).update(project=project)
    return annotator.user.username


def phase1_screenshot(browser, url: str, username: str, path: str) -> None:
    context, page = _signed_in(browser, url, username, 1000)
    page.wait_for_selector("#cand-0-0")
    n = page.locator("#step-0 .candidate").count()
    for _ in range(n):  # rate the first step's candidates, continue with the first good one
        page.keyboard.press("1")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cand-1-0")
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.wait_for_timeout(300)
    page.screenshot(path=path)
    context.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(var: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "STEPWISE_VAR_DIR": str(var), "DEBUG": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                             f"127.0.0.1:{port}", "--workers", "2"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not come up")


def _signed_in(browser, url: str, username: str, height: int):
    context = browser.new_context(viewport={"width": 1280, "height": height})
    page = context.new_page()
    page.goto(f"{url}/accounts/login/?next=/label/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/label/")
    return context, page


def measure(browser, url: str, username: str, n_steps: int, runs: int, screenshot: str | None = None) -> dict:
    context, page = _signed_in(browser, url, username, 900)
    fcp, ready = [], []
    for _ in range(runs):
        page.goto(f"{url}/label/", wait_until="commit")
        # functions, not strings: the page's Content-Security-Policy refuses eval
        page.wait_for_function(f"() => document.querySelectorAll('#rail .rail-step').length === {n_steps} && "
                               "!!document.querySelector('#step-0 .step-text')", polling="raf")
        ready.append(page.evaluate("() => performance.now()"))
        fcp.append(page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"))
    shown = page.evaluate("() => document.querySelectorAll('#steps .step').length")
    if screenshot:  # the README's picture: the rail and the first steps, one of them folded
        page.keyboard.press("Home")
        page.keyboard.press("f")
        page.wait_for_timeout(300)
        page.screenshot(path=screenshot)
    context.close()
    return {"fcp_ms": fcp, "ready_ms": ready, "steps_shown": shown}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--screenshot", metavar="PNG", help="Also save the resumed page as this PNG.")
    p.add_argument("--phase1-screenshot", metavar="PNG", help="Also save a phase-1 task being labelled as this PNG.")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="stepwise-page-bench-") as tmp:
        var = Path(tmp)
        log(f"scratch instance in {var}: a {args.steps}-step trace in three states")
        users = setup(var, args.steps)
        proc, url = serve(var)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                results = {state: measure(browser, url, users[state], args.steps, args.runs,
                                          args.screenshot if state == "resumed" else None) for state in STATES}
                if args.phase1_screenshot:
                    phase1_screenshot(browser, url, users["phase1"], args.phase1_screenshot)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"labelling page, {args.steps}-step trace, {args.runs} loads each (chromium {os.uname().machine}):")
    print(f"{'state':<18} {'steps shown':>11} {'first paint p50 / max':>24} {'ready p50 / max':>20}")
    for state, r in results.items():
        fcp = [v for v in r["fcp_ms"] if v is not None] or [float("nan")]  # a load can end before its paint entry
        print(f"{state:<18} {r['steps_shown']:>11} {statistics.median(fcp):>12.0f} / {max(fcp):>5.0f} ms"
              f" {statistics.median(r['ready_ms']):>11.0f} / {max(r['ready_ms']):>5.0f} ms")


if __name__ == "__main__":
    main()
