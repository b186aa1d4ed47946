import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the real data at {SHARED_DATA}")
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


def _demo_corpus() -> list[str]:
    from labeling.demo import generate

    return [t for p in generate(40, 4, seed=1) for t in (p.text, *(s for sol in p.solutions for s in sol.steps))]


@pytest.fixture(scope="session")
def micro_bert(tmp_path_factory):
    """A tiny BERT-style backbone with a WordPiece tokenizer trained on our own demo text."""
    from activelearn.micro import build_micro_backbone

    return build_micro_backbone(tmp_path_factory.mktemp("micro-bert"), _demo_corpus(), "bert")


@pytest.fixture(scope="session")
def micro_gpt2(tmp_path_factory):
    from activelearn.micro import build_micro_backbone

    return build_micro_backbone(tmp_path_factory.mktemp("micro-gpt2"), _demo_corpus(), "gpt2")


@pytest.fixture
def model_dir(settings, tmp_path):
    settings.MODEL_DIR = tmp_path / "models"
    return settings.MODEL_DIR
