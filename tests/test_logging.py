"""Structured logs: JSON lines with the expected fields, the request id from the X-Request-ID
header (or a fresh one) on the response and on every record of the request, a 500 logged with its
request id, Celery task ids on task records, and no secrets in any of it."""
import io
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from celery.signals import setup_logging
from django.test import Client
from django.urls import path

from config import celery as celery_config
from config import request_context
from config.celery import app as celery_app
from config.logging import REQUEST_ID_HEADER, ContextFilter, JsonLineFormatter, TextFormatter, logging_config

ROOT = Path(__file__).resolve().parents[1]


def boom(request):
    raise RuntimeError("boom while holding password=hunter2 and Bearer sw_abcdefghijklmnopqrstuvwxyz")


urlpatterns = [path("boom/", boom)]


@pytest.fixture
def json_lines():
    """Every record that reaches the root logger, as our JSON handler writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    lines = []

    def read():
        lines[:] = [json.loads(line) for line in out.getvalue().splitlines()]  # every line is JSON
        return lines

    yield read
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_json_formatter_fields_and_extras(json_lines):
    token = request_context.request_id.set("rid-1")
    try:
        logging.getLogger("stepwise.test").warning("hello %s", "world", extra={"rows": 3})
    finally:
        request_context.request_id.reset(token)
    logging.getLogger("stepwise.test").info("no request")
    first, second = [r for r in json_lines() if r["logger"] == "stepwise.test"]
    assert first["message"] == "hello world" and first["level"] == "WARNING" and first["rows"] == 3
    assert first["request_id"] == "rid-1" and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first["time"])
    assert "request_id" not in second and "task_id" not in second


def test_secrets_are_scrubbed_from_messages_extras_and_tracebacks(json_lines):
    log = logging.getLogger("stepwise.test")
    log.info("auth: Bearer sw_AbCdEfGhIjKlMnOpQrStUv_-123 from postgres://stepwise:s3cret@db:5432/x",
             extra={"header": "Authorization: Token abc.def", "form": "user=a&password=hunter2&x=1"})
    try:
        raise ValueError('{"password": "hunter2", "api_key": "k-123"}')
    except ValueError:
        log.exception("failed")
    text = "\n".join(json.dumps(r) for r in json_lines())
    for secret in ("sw_AbCdEfGhIjKlMnOpQrStUv", "s3cret", "abc.def", "hunter2", "k-123"):
        assert secret not in text
    first = json_lines()[0]
    assert "postgres://stepwise:[redacted]@db:5432/x" in first["message"] and first["form"].endswith("&x=1")


def test_text_format_has_the_ids_in_brackets():
    handler_out = io.StringIO()
    handler = logging.StreamHandler(handler_out)
    handler.addFilter(ContextFilter())
    handler.setFormatter(TextFormatter())
    log = logging.getLogger("stepwise.text-test")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("plain")
        token = request_context.request_id.set("rid-9")
        log.warning("with id")
        request_context.request_id.reset(token)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    plain, with_id = handler_out.getvalue().splitlines()
    assert plain.endswith("WARNING stepwise.text-test plain")
    assert with_id.endswith("WARNING stepwise.text-test [rid-9] with id")


def test_logging_config_rejects_an_unknown_format():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config("xml")
    assert logging_config("json")["formatters"]["line"]["()"] is JsonLineFormatter


@pytest.mark.django_db
def test_request_id_round_trips_and_each_request_logs_one_line(json_lines):
    client = Client()
    r = client.get("/healthz/", HTTP_X_REQUEST_ID="proxy-id.42")
    assert r["X-Request-ID"] == "proxy-id.42"
    for unsafe in ("x" * 65, "bad id\nforged line", "<script>"):
        r = client.get("/healthz/", HTTP_X_REQUEST_ID=unsafe)
        assert re.fullmatch(r"[0-9a-f]{32}", r["X-Request-ID"]), unsafe
    fresh = client.get("/api/me/?token=sw_abcdefghijklmnopqrst")  # 401: also logged by django.request
    assert re.fullmatch(r"[0-9a-f]{32}", fresh["X-Request-ID"])
    lines = [r for r in json_lines() if r["logger"] == "stepwise.request"]
    assert len(lines) == 5
    assert lines[0]["request_id"] == "proxy-id.42" and lines[0]["path"] == "/healthz/"
    last = lines[-1]
    assert {k: last[k] for k in ("method", "path", "status", "user_id", "request_id")} == \
        {"method": "GET", "path": "/api/me/", "status": 401, "user_id": None, "request_id": fresh["X-Request-ID"]}
    assert isinstance(last["duration_ms"], float) and last["duration_ms"] >= 0
    warning = next(r for r in json_lines() if r["logger"] == "django.request")
    assert warning["request_id"] == fresh["X-Request-ID"]  # logged by Django after the middleware returned
    assert "sw_abcdefghijklmnopqrst" not in json.dumps(json_lines())


@pytest.mark.django_db
def test_signed_in_request_line_names_the_user(json_lines, django_user_model):
    user = django_user_model.objects.create_user("logged", password="pw-for-tests-only")
    client = Client()
    client.force_login(user)
    client.get("/api/me/")
    line = [r for r in json_lines() if r["logger"] == "stepwise.request"][-1]
    assert line["user_id"] == user.pk and line["status"] == 200


@pytest.mark.urls(__name__)
def test_a_500_is_logged_with_its_request_id(json_lines):
    r = Client(raise_request_exception=False).get("/boom/", HTTP_X_REQUEST_ID="trace-500")
    assert r.status_code == 500 and r["X-Request-ID"] == "trace-500"
    records = json_lines()
    error = next(x for x in records if x["logger"] == "django.request" and x["level"] == "ERROR")
    assert error["request_id"] == "trace-500" and "RuntimeError: boom" in error["exc_info"]
    line = next(x for x in records if x["logger"] == "stepwise.request")
    assert (line["status"], line["level"], line["request_id"]) == (500, "WARNING", "trace-500")
    assert "hunter2" not in json.dumps(records) and "sw_abcdefghijklmnop" not in json.dumps(records)
    assert request_context.request_id.get() is None  # cleared once the response is closed


def test_task_records_carry_the_task_id_and_the_sending_request_id(json_lines):
    @celery_app.task(name="tests.logging_probe")
    def probe():
        logging.getLogger("stepwise.task-test").info("inside")

    result = probe.apply(headers={REQUEST_ID_HEADER: "sent-from-req"})
    inside = next(r for r in json_lines() if r["logger"] == "stepwise.task-test")
    assert inside["task_id"] == result.id and inside["task_name"] == "tests.logging_probe"
    assert inside["request_id"] == "sent-from-req"
    # the id travels in the message headers of a task sent while a request is served
    headers = {}
    token = request_context.request_id.set("req-7")
    try:
        celery_config._carry_request_id(headers=headers)
    finally:
        request_context.request_id.reset(token)
    assert headers == {REQUEST_ID_HEADER: "req-7"}


def test_celery_leaves_logging_to_django():
    # with a receiver, Celery neither hijacks the root logger nor adds its own handlers
    assert setup_logging.has_listeners()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_logs_json_lines_with_the_request_id(tmp_path):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if not gunicorn:
        pytest.skip("no gunicorn next to this python")
    port = _free_port()
    env = {**os.environ, "LOG_FORMAT": "json", "STEPWISE_VAR_DIR": str(tmp_path), "SECRET_KEY": "log-test",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = subprocess.Popen([gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/",
                                             headers={"X-Request-ID": "gunicorn-check"})
                with urllib.request.urlopen(req, timeout=5) as response:
                    assert response.headers["X-Request-ID"] == "gunicorn-check"
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    records = [json.loads(line) for line in out.splitlines() if line.strip()]  # every line is JSON
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records)
    line = next(r for r in records if r["logger"] == "stepwise.request")
    assert (line["path"], line["status"], line["request_id"]) == ("/accounts/login/", 200, "gunicorn-check")
