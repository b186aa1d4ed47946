"""The policy client against a real HTTP server that answers 429 and 5xx: retries, Retry-After, what
is counted; and the allow-list of hosts a connection may name."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from activelearn.policy import connection
from activelearn.policy.client import PolicyClient, PolicyError, PolicyUnavailable
from activelearn.policy.connection import Connection, ConnectionConfigError

COMPLETION = {"id": "c", "object": "text_completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "text": "2 + 2 = 4\n\n# Answer\n\n4", "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}}


@pytest.fixture
def server():
    """A server whose answers are scripted: (status, headers) per request, then 200s."""
    script, seen = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            status, headers = script.pop(0) if script else (200, {})
            body = json.dumps(COMPLETION if status == 200 else {"error": {"message": "busy"}}).encode()
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1", script, seen
    httpd.shutdown()


def _client(base_url: str, max_retries: int = 3):
    sleeps = []
    conn = Connection("test", connection.parse({"base_url": base_url, "model": "m", "max_retries": max_retries,
                                                "timeout": 5}))
    return PolicyClient(conn, sleep=sleeps.append), sleeps


def test_429_and_5xx_are_retried_with_backoff_and_retry_after_and_counted(server):
    url, script, seen = server
    script += [(429, {"Retry-After": "2"}), (503, {}), (500, {})]
    client, sleeps = _client(url)
    got = client.sample(1, "What is 2 + 2?", [0])
    assert got.samples[0].text.endswith("# Answer\n\n4")
    assert len(seen) == 4 and all(path == "/v1/completions" for path, _ in seen)
    u = got.usage
    assert (u.requests, u.retries, u.failed_requests) == (4, 3, 3)
    assert (u.prompt_tokens, u.completion_tokens) == (7, 9)  # only the answered request has usage
    assert 1.0 <= sleeps[0] <= 3.0  # Retry-After: 2, with jitter
    assert 0.5 * 0.5 <= sleeps[1] <= 1.5 * 1.0 and 0.5 * 1.0 <= sleeps[2] <= 1.5 * 2.0  # exponential backoff


def test_a_server_that_keeps_failing_is_unavailable_after_max_retries(server):
    url, script, seen = server
    script += [(503, {})] * 5
    client, sleeps = _client(url, max_retries=2)
    with pytest.raises(PolicyUnavailable, match="did not answer after 3 tries"):
        client.sample(1, "p", [0])
    assert len(seen) == 3 and len(sleeps) == 2


def test_a_refusal_is_not_retried(server):
    url, script, seen = server
    script += [(400, {})]
    client, sleeps = _client(url)
    with pytest.raises(PolicyError, match="refused the request: HTTP 400") as err:
        client.sample(1, "p", [0])
    assert not isinstance(err.value, PolicyUnavailable) and len(seen) == 1 and sleeps == []


def test_the_server_ignoring_n_is_asked_again_for_the_rest(server):
    url, _, seen = server
    client, _ = _client(url)
    got = client.sample(1, "p", [0, 1, 2])
    assert sorted(got.samples) == [0, 1, 2] and [body["n"] for _, body in seen] == [3, 2, 1]
    assert got.usage.short_answers == 2  # the last request asked for one and got it


@pytest.mark.django_db
def test_allowed_hosts_limit_what_a_connection_may_name(settings):
    settings.POLICY_ALLOWED_HOSTS = "gpu-1:8000,.inference.example.org"
    assert connection.check_base_url("http://gpu-1:8000/v1") == "http://gpu-1:8000/v1"
    assert connection.check_base_url("https://a.inference.example.org/v1/")
    for url, why in [("http://gpu-1:9000/v1", "not in POLICY_ALLOWED_HOSTS"),
                     ("http://127.0.0.1:6379/", "not in POLICY_ALLOWED_HOSTS"),
                     ("http://inference.example.org.evil.net/v1", "not in POLICY_ALLOWED_HOSTS"),
                     ("file:///etc/passwd", "http:// or https://"),
                     ("http://user:secret@gpu-1:8000/v1", "user name or password"),
                     ("http://gpu-1:8000/v1?x=1", "query")]:
        with pytest.raises(ConnectionConfigError) as err:
            connection.parse({"base_url": url, "model": "m"})
        assert err.value.field == "base_url" and why in str(err.value), (url, err.value)
    settings.POLICY_ALLOWED_HOSTS = ""  # empty: loopback only (tests/test_outbound_hosts.py has the rest)
    assert connection.check_base_url("http://127.0.0.1:1/v1") and connection.check_base_url("http://localhost:1/v1")
    with pytest.raises(ConnectionConfigError, match="not loopback"):
        connection.parse({"base_url": "http://anything:1/v1"})
