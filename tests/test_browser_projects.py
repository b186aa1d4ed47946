"""The labelling page follows its project in real headless Chromium: rating every step goes on after a -1, a
project without neutral offers no neutral, and the project's guidelines show in the instructions panel."""
import pytest

from labeling.models import LabeledPass, Project, ProjectMember, Role
from labeling.queue import claims as queue
from tests.test_browser import _annotator, _page, _solution, current_static_files  # noqa: F401 (autouse)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _in_project(**settings):
    project = Project.objects.create(slug="p", name="Project P", **settings)
    s = _solution(steps=("We add: $2+3=6$.", "Then $6-1=5$.", "# Answer\n\n5"))
    s.project = project
    s.save(update_fields=["project"])
    s.problem.project = project
    s.problem.save(update_fields=["project"])
    queue.enqueue([s])
    a = _annotator()
    ProjectMember.objects.filter(user=a.user).delete()
    ProjectMember.objects.create(project=project, user=a.user, role=Role.ANNOTATOR)
    return a


def test_every_step_goes_on_after_a_wrong_step_by_keyboard(browser, live_server):
    a = _in_project(protocol="every_step")
    page = _page(browser, live_server, a)
    page.wait_for_selector("#step-0")
    page.keyboard.press("3")  # -1: the pass does not stop here
    page.wait_for_selector("#step-1")
    page.keyboard.press("1")
    page.keyboard.press("1")
    page.wait_for_selector("#submit-btn:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert not page.errors
    (p,) = LabeledPass.objects.all()
    assert p.project.slug == "p" and p.finish_reason == "found_error" and p.first_error == 0
    assert [s["completions"][0]["rating"] for s in p.steps] == [-1, 1, 1]


def test_without_neutral_there_is_no_neutral_and_the_guidelines_show(browser, live_server):
    a = _in_project(allow_neutral=False, guidelines="Check **every** sum.")
    page = _page(browser, live_server, a)
    page.wait_for_selector("#step-0")
    assert page.locator("#step-0 .rate-btn").count() == 2
    page.keyboard.press("2")  # neutral: nothing happens
    assert page.locator("#step-0.rated").count() == 0
    page.keyboard.press("?")
    assert page.locator("#guidelines strong").inner_text() == "every"
    assert page.locator("#neutral-note").is_visible()
    page.keyboard.press("1")
    assert page.locator("#step-0.rated").count() == 1 and not page.errors
