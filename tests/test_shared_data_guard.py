"""Every test reads ../shared/data through the `shared_data` fixture (tests/conftest.py), which skips on a new
user's clone where the folder is not beside it and fails in CI where it must be. A module that builds the path by
hand passes in CI and fails on that clone (issue 30); this walk finds such a module before anyone clones."""
import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ALLOWED = {"conftest.py", Path(__file__).name}  # the fixture's home, and this walk's own examples


def reaches_for_shared(source: str) -> list[int]:
    """Lines of `source` that name the shared folder other than through the fixture: a string that is a path into
    it ("shared", ".../shared/...") or the conftest constant. Docstrings may mention it."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value.replace("\\", "/")
            if text.strip("/.") == "shared" or "shared/" in text:
                lines.append(node.lineno)
        elif isinstance(node, ast.Name | ast.alias) and getattr(node, "id", getattr(node, "name", "")) == "SHARED_DATA":
            lines.append(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr == "SHARED_DATA":
            lines.append(node.lineno)
    return sorted(set(lines))


def test_no_test_module_builds_the_shared_path_by_hand():
    offenders = {
        str(path.relative_to(TESTS)): found
        for path in sorted(TESTS.rglob("*.py"))
        if path.name not in ALLOWED and (found := reaches_for_shared(path.read_text()))
    }
    assert not offenders, f"read ../shared/data through the shared_data fixture, not by hand: {offenders}"


@pytest.mark.parametrize("source", [
    'SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "prm800k" / "sample.jsonl"\n',
    'import os\nDATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")\n',
    'from pathlib import Path\nP = Path("../shared/data/math500/test.jsonl")\n',
    'from .conftest import SHARED_DATA\n',
    'from tests import conftest\nP = conftest.SHARED_DATA / "x"\n',
])
def test_the_guard_finds_a_hand_built_path(source):
    assert reaches_for_shared(source)


def test_the_guard_leaves_the_fixture_and_prose_alone():
    source = '''"""Reads ../shared/data/prm800k through the fixture; shared by two tests."""


def test_x(shared_data):
    """The shared data's sample."""
    return shared_data / "prm800k" / "sample.jsonl"
'''
    assert reaches_for_shared(source) == []
