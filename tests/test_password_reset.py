"""Issue 25, defect 12: password reset by mail is off unless an operator configures mail; when on, the page
answers alike for an address with an account and one without (nobody is looked up in the request: the worker
does it) and requests are limited per address and per client IP (labeling/people/password_reset.py)."""
import pytest
from celery import current_app
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from labeling.people import password_reset

pytestmark = pytest.mark.django_db
RESET_PAGES = ("/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/MQ/set-password/",
               "/accounts/reset/done/")


@pytest.fixture
def user(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return get_user_model().objects.create_user("ann", "ann@example.org", "pw-long-enough")


def test_off_without_mail(client, user, settings):
    """The default (no EMAIL_URL): every reset page is a 404 and nothing is sent, nor tried."""
    assert settings.PASSWORD_RESET_ENABLED is False
    for url in RESET_PAGES:
        assert client.get(url).status_code == 404, url
    assert client.post("/accounts/password_reset/", {"email": "ann@example.org"}).status_code == 404
    assert mail.outbox == []
    assert client.get("/accounts/login/").status_code == 200  # the rest of the account pages stay


@pytest.fixture
def enabled(settings, monkeypatch):
    """Mail configured (the test runner's in-memory outbox); the task sent to the worker is recorded, then run."""
    settings.PASSWORD_RESET_ENABLED = True
    settings.PASSWORD_RESET_PER_HOUR = 3
    cache.clear()
    sent = []
    monkeypatch.setattr(current_app.tasks[password_reset.SEND], "delay", lambda *args: sent.append(args))
    yield sent
    cache.clear()


def _ask(email: str, ip: str = "192.0.2.1"):
    with CaptureQueriesContext(connection) as queries:
        r = Client(REMOTE_ADDR=ip).post("/accounts/password_reset/", {"email": email})
    return r, [q["sql"] for q in queries.captured_queries]


def test_known_and_unknown_addresses_are_answered_alike(user, enabled):
    known, known_sql = _ask("ann@example.org", "192.0.2.1")
    unknown, unknown_sql = _ask("nobody@example.org", "192.0.2.2")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known.status_code == 302 and known["Location"] == "/accounts/password_reset/done/"
    assert known_sql == unknown_sql and not any("auth_user" in q for q in known_sql)  # nobody looked up
    assert mail.outbox == []  # nothing sent inside the request
    assert [args[0] for args in enabled] == ["ann@example.org", "nobody@example.org"]
    for args in enabled:  # the worker's side
        current_app.tasks[password_reset.SEND].run(*args)
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]
    assert "/accounts/reset/" in mail.outbox[0].body


def test_requests_are_limited_per_address_and_per_ip(user, enabled):
    for i in range(3):
        assert _ask("ann@example.org", f"192.0.2.{10 + i}")[0].status_code == 302
    assert _ask("ann@example.org", "192.0.2.50")[0].status_code == 429  # the address, from anywhere
    for i in range(3):
        assert _ask(f"x{i}@example.org", "198.51.100.7")[0].status_code == 302
    assert _ask("fresh@example.org", "198.51.100.7")[0].status_code == 429  # the IP, for any address
    assert len(enabled) == 6
