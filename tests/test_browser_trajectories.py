"""An AgentProcessBench trace labelled on the page in real headless Chromium, by keyboard alone: the conversation
as a person reads it (roles, tool calls as name and indented arguments, long tool results folded), every
assistant turn rated under the project's protocol, the outcome of the whole trace rated; then exported in
AgentProcessBench's shape and imported again as the same pass."""
import json

import pytest
from django.core.management import call_command

from labeling.formats import trajectories
from labeling.imports import files as importers
from labeling.models import LabeledPass, Project, ProjectMember, Protocol
from tests.test_browser import _annotator, _page, current_static_files  # noqa: F401 (autouse)
from tests.test_trajectories import TRACES, _records

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_trace_labelled_by_keyboard_exports_as_agentprocessbench_and_reimports_as_the_same_pass(
        browser, live_server, tmp_path):
    agents = Project.objects.create(slug="agents", name="Agents", protocol=Protocol.EVERY_STEP)
    importers.import_solutions(TRACES, project=agents.pk, enqueue=True)
    a = _annotator()
    ProjectMember.objects.filter(user=a.user).update(project=agents)
    page = _page(browser, live_server, a, width=1280)
    page.wait_for_selector("#step-0")  # trace 0:0 first: four assistant turns, shown as they are rated
    assert not page.errors, page.errors
    assert page.locator("#rail .rail-step").count() == 5 and page.locator("#rail .rail-outcome").count() == 1
    assert page.locator("#trace-note").count() == 1
    # the context before the first turn: the system and user messages, shown, never rated
    first = page.locator("#step-0")
    assert first.locator(".context .msg.role-system .role").inner_text() == "System"
    assert "Question: Which Australian city" in first.locator(".context .msg.role-user").inner_text()
    assert first.locator(".role-assistant").inner_text() == "Assistant · step 1 · message 2"
    # the tool call: its name, and its arguments as indented JSON in a code block
    assert first.locator(".step-text code").first.inner_text() == "search"
    assert '"query_list": [' in first.locator(".step-text pre code").inner_text()
    page.keyboard.press("1")
    # step 2's context is the search result, 2,112 characters: folded until e opens it
    folded = page.locator("#step-1 .context details.role-tool")
    assert folded.count() == 1 and not folded.evaluate("d => d.open")
    assert "Tool result · search · 2,112 characters" in folded.locator("summary").inner_text()
    page.keyboard.press("e")
    assert page.locator("#step-1 .context details.role-tool").evaluate("d => d.open")
    assert "Melbourne" in page.locator("#step-1 .context .tool-result").inner_text()
    page.keyboard.press("1")
    page.keyboard.press("3")  # every step rated: the pass goes on after a wrong one
    assert page.locator("#steps .step").count() == 4
    page.wait_for_selector("#submit-btn[disabled]")
    page.keyboard.press("3")  # the last turn: then the selection moves to the outcome
    page.wait_for_selector("#outcome.selected")
    assert page.locator("#submit-btn").is_disabled()  # not before the outcome is rated
    page.keyboard.press("3")
    page.wait_for_selector("#outcome.r-1")
    page.wait_for_selector("#submit-btn:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#rail .rail-step').length === 4")  # trace 3:0 next
    assert not page.errors
    (p,) = LabeledPass.objects.all()
    assert [s["completions"][0]["rating"] for s in p.steps] == [1, 1, -1, -1]
    assert p.finish_reason == "found_error" and p.first_error == 2 and p.extra["final_label"] == -1

    out = tmp_path / "labelled.jsonl"
    call_command("export_trajectories", str(out), "--project", "agents", "--no-progress")
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    rec = _records()[0]
    assert {k: line[k] for k in rec} == rec  # the trace as it came in, every key
    assert line["step_labels"] == {"2": 1, "4": 1, "6": -1, "8": -1} and line["final_label"] == -1
    assert line["record_id"] == "searchR1_hotpotqa:0:0" and line["annotator"] == a.user.username
    assert line["labeler"] == str(a.uuid) and line["status"] == "done"
    again = importers.import_solutions(out, project=agents.pk)
    assert again.existing["passes"] == 1 and again.created["passes"] == 0 and LabeledPass.objects.count() == 1
    fresh = Project.objects.create(slug="fresh", name="Fresh")
    importers.import_solutions(out, project=fresh.pk)
    copy = LabeledPass.objects.get(project=fresh)
    assert copy.natural_key == p.natural_key and copy.annotator_id == p.annotator_id
    assert copy.steps == [{**s, "completions": [{**s["completions"][0], "flagged": None}]} for s in p.steps]
    assert copy.extra["final_label"] == -1 and trajectories.step_ratings(line["step_labels"], [2, 4, 6, 8],
                                                                         complete=True) == [1, 1, -1, -1]


def test_a_models_imported_labels_are_suggested_step_by_step_and_for_the_outcome(browser, live_server):
    """The project suggests from one model's AgentProcessBench labels (an imported run): each turn's label and
    the outcome are shown, none a rating until taken (c) or changed; the pass records what it kept."""
    from labeling.imports.trajectory_labels import import_trajectory_labels
    from tests.test_trajectories import MODELS

    agents = Project.objects.create(slug="agents", name="Agents", protocol=Protocol.EVERY_STEP)
    importers.import_solutions(TRACES, project=agents.pk, enqueue=True)
    claude = next(p for p in MODELS if "claude" in p.name)  # on trace 0:0: 1, 0, 1, -1 and the outcome -1
    import_trajectory_labels(claude, project=agents.pk)
    agents.suggestion_source = "imported:agentprocessbench:claude-sonnet-4-5-20250929"
    agents.full_clean()
    agents.save()
    a = _annotator()
    ProjectMember.objects.filter(user=a.user).update(project=agents)
    page = _page(browser, live_server, a, width=1280)
    page.wait_for_selector("#step-0 .suggestion")
    assert "press c" in page.locator("#step-0 .suggestion").inner_text()
    page.keyboard.press("c")
    page.wait_for_selector("#step-1 .suggestion")
    assert page.locator("#step-1 .suggestion").inner_text().startswith(
        "Suggested (imported:agentprocessbench:claude-sonnet-4-5-20250929): Okay")
    page.keyboard.press("1")  # the model says 0: changed
    page.keyboard.press("c")
    page.keyboard.press("c")  # the last turn: then the outcome, with the model's outcome suggested
    page.wait_for_selector("#outcome.selected .suggestion")
    assert "Bad: press c" in page.locator("#outcome .suggestion").inner_text()
    assert page.locator("#submit-btn").is_disabled()
    page.keyboard.press("c")
    page.wait_for_selector("#outcome.r-1")
    assert "taken" in page.locator("#outcome .suggestion").inner_text()
    assert "changed" in page.locator("#step-1 .suggestion").inner_text()
    page.wait_for_selector("#submit-btn:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#rail .rail-step').length === 4")
    assert not page.errors, page.errors
    (p,) = LabeledPass.objects.all()
    assert [s["completions"][0]["rating"] for s in p.steps] == [1, 1, 1, -1] and p.extra["final_label"] == -1
    assert p.suggestions["labels"] == [1, 0, 1, -1] and p.suggestions["kept"] == [True, False, True, True]
    assert p.suggestions["final_label"] == -1 and p.suggestions["outcome_kept"] is True
