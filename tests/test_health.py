import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    r = client.get("/healthz/")
    assert r.status_code == 200, r.content
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"},
                        "worker": {"ok": False, "last_seen": None},  # information only: no worker in tests
                        "scheduler": {"ok": False, "running": 0, "last_seen": None}}


def test_healthz_says_when_the_broker_is_down(client, monkeypatch):
    from config import health

    def down():
        raise ConnectionRefusedError("nope")

    monkeypatch.setattr(health, "_broker", down)
    r = client.get("/healthz/")
    assert r.status_code == 503
    assert r.json()["checks"]["broker"] == "error: ConnectionRefusedError"


def test_home_page_shows_counts(client):
    r = client.get("/")
    assert r.status_code == 200 and b"labelled passes" in r.content
