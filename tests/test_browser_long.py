"""Long chains of thought on the labelling page, in real headless Chromium and by keyboard alone: the rail of
step states, jumps to the next unrated and unsure steps, long steps folded, a 300-step pass submitted whole, and
first-error mode (one key marks the first wrong step; the steps before it become +1)."""
import pytest

from bench.label_page import trace
from labeling.models import LabeledPass, Problem, Project, ProjectMember, Solution
from labeling.queue import claims as queue
from labeling.storage.hashing import problem_hash, solution_hash
from tests.test_browser import _annotator, _page, current_static_files  # noqa: F401 (autouse)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _queued(steps: list[str], project_id: int = 1) -> Solution:
    p = Problem.objects.create(project_id=project_id, text="Find the total.", content_hash=problem_hash(str(steps)),
                               ground_truth_answer="42")
    s = Solution.objects.create(project_id=project_id, problem=p, steps=steps, final_answer="42",
                                content_hash=solution_hash(p.content_hash, steps, "42"))
    queue.enqueue([s])
    return s


def test_a_300_step_trace_by_keyboard_alone(browser, live_server):
    steps = trace(300)
    _queued(steps)
    a = _annotator()
    page = _page(browser, live_server, a, width=1280)
    page.wait_for_selector("#rail .rail-step >> nth=299")
    assert page.locator("#rail .rail-step").count() == 300 and page.locator("#steps .step").count() == 1
    for _ in range(8):
        page.keyboard.press("1")
    page.keyboard.press("u")  # unsure about step 8
    assert page.locator("#rail .rail-step.r1").count() == 8 and page.locator("#rail .rail-step.flagged").count() == 1
    assert page.locator("#rail-count").inner_text() == "8 of 300 rated"
    page.keyboard.press("Home")
    page.keyboard.press("f")  # the next unsure step
    assert page.locator("#step-7.selected").count() == 1
    page.keyboard.press("n")  # back to the first unrated one
    assert page.locator("#step-8.selected").count() == 1
    assert page.locator("#step-7.long.collapsed").count() == 1  # step 8 is a long one: folded
    page.keyboard.press("ArrowUp")
    page.keyboard.press("e")
    assert page.locator("#step-7.long.collapsed").count() == 0 and page.locator("#step-7.long").count() == 1
    page.keyboard.press("n")
    for _ in range(292):
        page.keyboard.press("1")
    page.wait_for_selector("#submit-btn:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert not page.errors
    (p,) = LabeledPass.objects.all()
    assert p.finish_reason == "solution" and len(p.steps) == 300 and p.steps[7]["completions"][0]["flagged"]


def test_first_error_mode_marks_the_first_wrong_step_with_one_key(browser, live_server):
    fe = Project.objects.create(slug="fe", name="FE", first_error_mode=True)
    steps = [f"Step {i}: $ {i} + 1 = {i + 1} $." for i in range(10)]
    _queued(steps, fe.pk)
    _queued([f"Another {i}." for i in range(4)], fe.pk)
    a = _annotator()
    ProjectMember.objects.filter(user=a.user).update(project=fe)
    page = _page(browser, live_server, a)
    page.wait_for_selector("#step-9")  # every step shown at once
    assert page.locator("#steps .step").count() == 10 and page.locator("#first-error-hint").is_visible()
    page.keyboard.press("2")  # neutral on the first step, still there in this mode (the selection moves on)
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("x")  # the fifth step is the first wrong one
    assert page.locator("#steps .step").count() == 5
    page.wait_for_selector("#submit-btn:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#rail .rail-step').length === 4")  # the next task, 4 steps
    first = LabeledPass.objects.get()
    assert first.finish_reason == "found_error" and first.first_error == 4
    assert [s["completions"][0]["rating"] for s in first.steps] == [0, 1, 1, 1, -1]
    page.keyboard.press("a")  # no error at all
    page.wait_for_selector("#submit-btn:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    second = LabeledPass.objects.order_by("id").last()
    assert second.finish_reason == "solution" and [s["completions"][0]["rating"] for s in second.steps] == [1] * 4
    assert not page.errors


def test_suggestions_must_be_taken_or_changed_before_submit(browser, live_server):
    from labeling.models import AutoLabelRun, StepLabels

    project = Project.objects.create(slug="sg", name="SG", suggestion_source="judge")
    s = _queued(["We add: $2+3=5$.", "Then $5 \\times 2 = 11$.", "# Answer\n\n11"], project.pk)
    run = AutoLabelRun.objects.create(key="j", source="judge", labeller_version="t", project=project)
    StepLabels.objects.create(run=run, solution=s, n_steps=3, hard=[1, -1, 1], first_error=1)
    a = _annotator()
    ProjectMember.objects.filter(user=a.user).update(project=project)
    page = _page(browser, live_server, a)
    page.wait_for_selector("#step-0 .suggestion")
    assert "press c" in page.locator("#step-0 .suggestion").inner_text()
    assert page.locator("#submit-btn").is_disabled() and page.locator("#rail-count").inner_text() == "0 of 3 rated"
    page.keyboard.press("c")  # take the suggested +1
    page.wait_for_selector("#step-1 .suggestion")
    page.keyboard.press("1")  # the suggestion says -1: changed
    page.keyboard.press("c")
    page.wait_for_selector("#submit-btn:not([disabled])")
    assert "taken" in page.locator("#step-0 .suggestion").inner_text()
    assert "changed" in page.locator("#step-1 .suggestion").inner_text()
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    (p,) = LabeledPass.objects.all()
    assert p.finish_reason == "solution" and p.suggestions["kept"] == [True, False, True] and not page.errors


def test_a_phase1_pass_by_keyboard_alone(browser, live_server):
    import orjson

    from labeling.exports import rows, writers

    project = Project.objects.create(slug="p1", name="Phase 1", protocol="alternatives")
    s = _queued(["We add: $2+3=6$.", "So the answer is 6.\n\n# Answer\n\n6"], project.pk)
    s.extra = {"alternatives": {"0": ["We add: $2+3=5$."], "1": ["So it is 5.\n\n# Answer\n\n5", "Hmm."]}}
    s.save(update_fields=["extra"])
    a = _annotator()
    ProjectMember.objects.filter(user=a.user).update(project=project)
    page = _page(browser, live_server, a)
    page.wait_for_selector("#cand-0-1")
    assert page.locator("#phase1-note").count() == 1 and page.locator("#steps .step").count() == 1
    page.keyboard.press("3")  # the first candidate is wrong: the pass goes on
    page.keyboard.press("1")  # the second is right (the cursor moved to it)
    page.keyboard.press("Enter")  # continue with it
    page.wait_for_selector("#cand-1-2")
    page.keyboard.press("3")
    page.keyboard.press("3")
    page.keyboard.press("2")  # none is good: write your own
    page.keyboard.press("w")
    page.keyboard.type("So the answer is 5.\n\n# Answer\n\n5")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#human-1")
    page.wait_for_selector("#submit-btn:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert not page.errors
    (p,) = LabeledPass.objects.all()
    rec = orjson.loads(next(writers.prm800k_lines(rows.passes_for_export(project=project.pk))))
    assert list(rec["question"]) == ["problem", "ground_truth_answer"] and rec["label"]["finish_reason"] == "solution"
    assert rec["label"]["steps"] == [
        {"completions": [{"text": "We add: $2+3=6$.", "rating": -1, "flagged": False},
                         {"text": "We add: $2+3=5$.", "rating": 1, "flagged": False}],
         "human_completion": None, "chosen_completion": 1},
        {"completions": [{"text": "So the answer is 6.\n\n# Answer\n\n6", "rating": -1, "flagged": False},
                         {"text": "So it is 5.\n\n# Answer\n\n5", "rating": -1, "flagged": False},
                         {"text": "Hmm.", "rating": 0, "flagged": False}],
         "human_completion": {"text": "So the answer is 5.\n\n# Answer\n\n5", "rating": None, "source": "human",
                              "flagged": False},
         "chosen_completion": None}]
    assert p.first_error == -1
