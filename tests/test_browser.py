"""The labelling page in real headless Chromium (Debian's chromium driven by Playwright)."""
import os
import time
import uuid

import pytest
from django.utils import timezone

from labeling.exports.rows import passes_for_export
from labeling.exports.writers import prm800k_lines
from labeling.models import LabeledPass, Problem, Solution
from labeling.people.accounts import set_user
from labeling.queue import claims as queue
from labeling.storage.hashing import problem_hash, solution_hash
from tests.api_helpers import default_project

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PASSWORD = "pw-for-browser-tests"


@pytest.fixture(autouse=True)
def current_static_files(settings):
    # Serve the JS/CSS under test from the source folders, never a stale collectstatic copy.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


def _solution(problem_text="Compute $2+3$.", steps=("We add: $2+3=5$.", "So the answer is 5.\n\n# Answer\n\n5"),
              **flags):
    p, _ = Problem.objects.get_or_create(content_hash=problem_hash(problem_text),
                                         defaults={"text": problem_text, "ground_truth_answer": "5"})
    steps = list(steps)
    return Solution.objects.create(problem=p, steps=steps, final_answer="5", verifier_score=0.75, generation=3,
                                   content_hash=solution_hash(p.content_hash, steps, str(uuid.uuid4())), **flags)


def _annotator(screened=True):
    a = set_user(f"ann-{uuid.uuid4().hex[:6]}", PASSWORD, "annotator")
    if screened:
        a.screening_passed_at = timezone.now()
        a.save()
    return a


def _page(browser, live_server, annotator, width=1000):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/accounts/login/?next=/label/")
    page.fill("#id_username", annotator.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/label/")
    page.errors = errors
    return page


def test_keyboard_only_pass_exports_as_prm800k(browser, live_server):
    s = _solution()
    queue.enqueue([s])
    a = _annotator()
    page = _page(browser, live_server, a)
    page.wait_for_selector("#step-0")
    page.keyboard.press("1")
    page.keyboard.press("u")  # unsure about step 1
    page.keyboard.press("ArrowDown")
    page.keyboard.press("2")
    page.wait_for_selector("#submit-btn:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert not page.errors
    (p,) = LabeledPass.objects.all()
    assert p.finish_reason == "solution" and p.annotator == a and p.total_time >= 0
    import orjson

    (line,) = list(prm800k_lines(passes_for_export()))
    rec = orjson.loads(line)
    assert list(rec) == ["labeler", "timestamp", "generation", "is_quality_control_question",
                         "is_initial_screening_question", "question", "label"]
    assert rec["labeler"] == str(a.uuid) and rec["generation"] == 3
    assert rec["question"] == {"problem": s.problem.text, "ground_truth_solution": None, "ground_truth_answer": "5",
                               "pre_generated_steps": s.steps, "pre_generated_answer": "5",
                               "pre_generated_verifier_score": 0.75}
    assert rec["label"]["finish_reason"] == "solution" and isinstance(rec["label"]["total_time"], int)
    assert rec["label"]["steps"] == [
        {"completions": [{"text": s.steps[0], "rating": 1, "flagged": True}], "human_completion": None,
         "chosen_completion": 0},
        {"completions": [{"text": s.steps[1], "rating": 0, "flagged": False}], "human_completion": None,
         "chosen_completion": 0}]


def test_reload_mid_pass_resumes(browser, live_server):
    queue.enqueue([_solution(steps=("a $1$", "b", "c\n\n# Answer\n\n5"))])
    page = _page(browser, live_server, _annotator())
    page.keyboard.press("1")
    page.keyboard.press("2")
    # A function, not an expression string: Playwright evals strings, which the CSP refuses.
    page.wait_for_function("() => document.getElementById('save-state').textContent === 'Saved'")
    page.reload()
    page.wait_for_selector("#step-2")
    assert page.get_attribute("#step-0", "aria-label") == "Step 1, rated Great"
    assert page.get_attribute("#step-1", "aria-label") == "Step 2, rated Okay"
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert LabeledPass.objects.get().finish_reason == "found_error"


def test_double_submit_gives_one_record(browser, live_server):
    queue.enqueue([_solution()])
    page = _page(browser, live_server, _annotator())
    page.keyboard.press("1")
    page.keyboard.press("1")
    page.dblclick("#submit-btn")
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert LabeledPass.objects.count() == 1


def test_give_up_needs_a_reason(browser, live_server):
    queue.enqueue([_solution()])
    page = _page(browser, live_server, _annotator())
    page.keyboard.press("g")
    page.click("#reason-confirm")
    assert page.is_visible("#reason-error") and LabeledPass.objects.count() == 0
    page.fill("#reason-text", "I cannot follow step 1")
    page.click("#reason-confirm")
    page.wait_for_selector("#empty-reason")
    p = LabeledPass.objects.get()
    assert p.finish_reason == "give_up" and p.reason_text == "I cannot follow step 1"


def test_script_in_a_problem_is_shown_as_text(browser, live_server):
    payload = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"> $x<y$'
    queue.enqueue([_solution(problem_text=payload, steps=('<b onmouseover="window.pwned=3">bold?</b>', "5"))])
    page = _page(browser, live_server, _annotator())
    page.wait_for_selector("#step-0")
    assert page.evaluate("window.pwned") is None
    assert "<script>window.pwned=1</script>" in page.inner_text("#problem-text")
    assert page.locator("#problem-text img").count() == 0 and page.locator("#steps b").count() == 0
    assert "onmouseover" in page.inner_text("#step-0")


def test_screening_gate_blocks_regular_tasks(browser, live_server, settings):
    default_project(screening_threshold=1.0)
    _solution(problem_text="Screening: $1+1$?", is_screening=True, gold_first_error=-1)
    queue.enqueue([_solution(problem_text="Regular task")])
    page = _page(browser, live_server, _annotator(screened=False))
    assert page.inner_text("#serve-reason") == "screening"
    page.keyboard.press("3")  # disagrees with the gold label (no error)
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert page.get_attribute("#empty-reason", "data-reason") == "screening_review"
    assert "Regular task" not in page.content()


def test_phone_width_and_instructions_panel(browser, live_server):
    queue.enqueue([_solution()])
    page = _page(browser, live_server, _annotator(), width=380)
    page.wait_for_selector("#step-0")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.keyboard.press("?")
    assert page.is_visible("#instructions")
    names = page.eval_on_selector_all("#step-0 button", "bs => bs.map(b => b.getAttribute('aria-label'))")
    assert names[:3] == ["Great (+1) for step 1", "Okay (0) for step 1", "Bad (-1) for step 1"]
    if os.environ.get("STEPWISE_SCREENSHOT"):
        page.screenshot(path=os.environ["STEPWISE_SCREENSHOT"], full_page=True)


def test_alternatives_are_rated_after_an_error(browser, live_server):
    s = _solution(steps=("a $1$", "wrong $2+2=5$", "c\n\n# Answer\n\n5"))
    s.extra = {"alternatives": {"1": ["instead $2+2=4$", "or maybe $2+2=3$"]}}
    s.save()
    queue.enqueue([s])
    page = _page(browser, live_server, _annotator())
    page.keyboard.press("1")
    page.keyboard.press("3")  # step 2 is wrong: its alternatives appear
    page.wait_for_selector("#alt-1")
    page.keyboard.press("1")  # first alternative: Great
    page.keyboard.press("3")  # second: Bad
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    step = LabeledPass.objects.get().steps[1]
    assert [(c["text"], c["rating"]) for c in step["completions"]] == [
        ("wrong $2+2=5$", -1), ("instead $2+2=4$", 1), ("or maybe $2+2=3$", -1)]
    assert step["chosen_completion"] is None


def _lose_first_submit_answer(page):
    """The first submit reaches the server and is stored, but its answer never reaches the page."""
    state = {"lost": 0}

    def handle(route):
        if state["lost"] == 0:
            state["lost"] = 1
            route.fetch()  # the server stores the pass...
            route.abort()  # ...and the page sees a dropped connection
        else:
            route.continue_()

    page.route("**/submit/", handle)
    return state


def test_a_retry_after_a_lost_answer_lands_once(browser, live_server):
    queue.enqueue([_solution()])
    page = _page(browser, live_server, _annotator())
    _lose_first_submit_answer(page)
    answers = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/submit/") else None)
    page.keyboard.press("1")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#submit-error:not([hidden])")
    time.sleep(1.2)  # active time moves on; the retry still sends the first body
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert answers == [200]  # the retry was a replay of what landed, not a conflict
    assert LabeledPass.objects.count() == 1 and not page.errors


def test_an_edited_retry_after_a_lost_answer_says_what_landed(browser, live_server):
    queue.enqueue([_solution()])
    page = _page(browser, live_server, _annotator())
    _lose_first_submit_answer(page)
    page.keyboard.press("1")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#submit-error:not([hidden])")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("2")  # the annotator changes a rating, then tries again
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('submit-error').textContent.includes('already submitted')")
    stored = LabeledPass.objects.get()
    assert str(stored.client_id) in page.text_content("#submit-error")
    assert [s["completions"][0]["rating"] for s in stored.steps] == [1, 1]  # the pass that landed stays
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert LabeledPass.objects.count() == 1 and not page.errors
