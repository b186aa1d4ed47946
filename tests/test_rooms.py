"""The rooms of docs/architecture.md stay as they are: labeling's top floor holds its Django entry points and
app-level modules only (capabilities live in subpackages), no app has two modules named `evaluation.py`, and
a management/commands folder holds commands only (what commands share lives in each app's `cli`)."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABELING_TOP_FLOOR = {"__init__", "admin", "apps", "celery_tasks", "checker_config", "context_processors",
                      "fields", "forms", "models", "switcher", "urls", "views"}


def top_floor(app: str) -> set[str]:
    return {p.stem for p in (ROOT / app).glob("*.py")}


def test_labeling_top_floor_holds_entry_points_and_model_level_modules_only():
    extra = top_floor("labeling") - LABELING_TOP_FLOOR
    assert not extra, f"give {sorted(extra)} a room (a subpackage of labeling) and list it in docs/architecture.md"


@pytest.mark.parametrize("app", ["labeling", "activelearn", "api"])
def test_management_commands_hold_commands_only(app):
    folder = ROOT / app / "management" / "commands"
    helpers = sorted(p.name for p in folder.glob("_*.py") if p.name != "__init__.py")
    assert not helpers, f"{app}: {helpers} are shared helpers, not commands: move them to {app}/cli/"


def test_no_module_named_plainly_evaluation():
    found = sorted(str(p.relative_to(ROOT)) for app in ("labeling", "activelearn", "api")
                   for p in (ROOT / app).rglob("evaluation.py"))
    assert not found, f"name these for what they evaluate: {found}"
