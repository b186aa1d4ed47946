import os
from pathlib import Path

import pytest

# Beside the checkout (as CI lays it out), or wherever STEPWISE_SHARED_DATA points.
SHARED_DATA = Path(os.environ.get("STEPWISE_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the real data at {SHARED_DATA}")
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def recorders():
    """Loopback OpenAI-compatible servers that record what they were sent (tests/recording_server.py): call it
    for each one; all are shut down after the test."""
    from .recording_server import Recorder, serve

    made = []

    def make() -> Recorder:
        r = Recorder()
        made.append(serve(r))
        return r

    yield make
    for httpd in made:
        httpd.shutdown()
        httpd.server_close()


def pytest_addoption(parser):
    parser.addoption("--schemathesis-examples", type=int, default=None, metavar="N",
                     help="tests/test_api_schemathesis.py: N examples per API operation and role, random seed "
                          "(default: a few, fixed seed; or set SCHEMATHESIS_EXAMPLES)")
    parser.addoption("--fuzz-examples", type=int, default=None, metavar="N",
                     help="tests/test_fuzz_*.py: N examples per property, random seed (default: a few per "
                          "property, fixed seed; or set FUZZ_EXAMPLES)")


def pytest_configure(config):
    if config.getoption("schemathesis_examples", None):
        os.environ["SCHEMATHESIS_EXAMPLES"] = str(config.getoption("schemathesis_examples"))
    if config.getoption("fuzz_examples", None):
        os.environ["FUZZ_EXAMPLES"] = str(config.getoption("fuzz_examples"))


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


def _demo_corpus() -> list[str]:
    from labeling.demo.problems import generate

    return [t for p in generate(40, 4, seed=1) for t in (p.text, *(s for sol in p.solutions for s in sol.steps))]


@pytest.fixture(scope="session")
def micro_bert(tmp_path_factory):
    """A tiny BERT-style backbone with a WordPiece tokenizer trained on our own demo text."""
    from activelearn.prm.micro import build_micro_backbone

    return build_micro_backbone(tmp_path_factory.mktemp("micro-bert"), _demo_corpus(), "bert")


@pytest.fixture(scope="session")
def micro_gpt2(tmp_path_factory):
    from activelearn.prm.micro import build_micro_backbone

    return build_micro_backbone(tmp_path_factory.mktemp("micro-gpt2"), _demo_corpus(), "gpt2")


@pytest.fixture
def model_dir(settings, tmp_path):
    settings.MODEL_DIR = tmp_path / "models"
    return settings.MODEL_DIR


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploads and export files of a test go to its own folder, never into var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def eager():
    """Celery tasks run in this process, at once (a real worker is tests/test_rounds_worker.py)."""
    from config.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = old


@pytest.fixture
def dispatched(monkeypatch):
    """Rounds started in a test are recorded, not sent to a worker."""
    from activelearn.rounds import lifecycle as rounds

    sent = []
    monkeypatch.setattr(rounds, "dispatch", lambda round_id: sent.append(round_id) or True)
    return sent


@pytest.fixture
def ml():
    """An API client of a fresh ML-staff user."""
    from .api_helpers import token_client

    return token_client("ml", "ml_staff")[0]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (never a browser download), for the browser tests."""
    import shutil

    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium for the browser tests (make setup installs it)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls the tests make
    # between page actions are ordinary blocking calls, which is safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()
