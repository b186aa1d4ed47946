"""Issue 25, defect 8's sibling in generation: a policy server (a real one on loopback, answering as it pleases)
whose sample has more steps than the submit takes, or whose answer is 20 MB, gets no solution stored: the sample
is dropped as too_long, whatever the connection's own max_steps (up to 2,000) says, and the long answer before any
splitting. On the code before issue 25 the 1,500-step sample was kept (this test failed); the 20 MB answer was
dropped already, after splitting it (now refused by its length first)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from activelearn.models import GeneratedSample
from activelearn.policy import connection, generation
from activelearn.policy.client import PolicyClient
from activelearn.policy.connection import Connection
from labeling.demo.seed import seed_problems
from labeling.models import Problem, Solution

pytestmark = pytest.mark.django_db


@pytest.fixture
def server():
    """An OpenAI-compatible completions server answering `texts` in turn."""
    texts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"id": "c", "object": "text_completion", "created": 0, "model": "m",
                               "choices": [{"index": 0, "text": texts.pop(0), "finish_reason": "stop"}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1", texts
    httpd.shutdown()


@pytest.mark.parametrize(("name", "text"), [
    ("many-steps", "\n".join(f"step {k}" for k in range(1500)) + "\n# Answer\n\n4"),
    ("huge", "x" * 20 * 1024 * 1024),
])
def test_a_sample_nobody_could_finish_is_dropped_as_too_long(server, name, text):
    url, texts = server
    texts.append(text)
    seed_problems(n_problems=1, n_solutions=1)
    problem = Problem.objects.order_by("id").first()
    conn = Connection("loop", connection.parse({"base_url": url, "model": "m", "max_steps": 2000,
                                                 "max_step_chars": 100_000, "timeout": 30}))
    run = generation.start_run(f"limits-{name}", conn, 1, {})
    before = Solution.objects.count()
    got = PolicyClient(conn, sleep=lambda s: None).sample(problem.pk, "What is 2 + 2?", [0])
    outcomes, new_ids = generation.store(run, conn, problem, got)
    assert dict(outcomes) == {"too_long": 1} and new_ids == []
    assert Solution.objects.count() == before
    assert GeneratedSample.objects.get(run=run).outcome == "too_long"
