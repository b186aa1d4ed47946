"""The round form on /rounds/: options grouped by what a person decides, the rarely changed ones folded
away, and named presets (activelearn/rounds/presets.py) that fill the fields, by keyboard too."""
import os

import pytest

from activelearn.models import Round
from activelearn.rounds.config import GROUPS, OPTIONS, config_of, parse_config
from activelearn.rounds.presets import PRESETS
from labeling.models import DEFAULT_PROJECT_ID
from labeling.people.accounts import set_user

from .test_rounds_page import login

pytestmark = pytest.mark.django_db


def test_every_option_is_in_exactly_one_group():
    grouped = [n for _, _, shown, more in GROUPS for n in (*shown, *more)]
    assert len(grouped) == len(set(grouped)), "an option is in two groups"
    assert set(grouped) == {o.name for o in OPTIONS}, "an option is in no group (or a group names no option)"
    assert all(shown for _, _, shown, _ in GROUPS)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.key)
def test_every_preset_parses(preset):
    assert set(preset.values) <= {o.name for o in OPTIONS}
    config = parse_config(dict(preset.values), DEFAULT_PROJECT_ID)
    assert {k: getattr(config, k) for k in preset.values} == preset.values


def test_presets_are_named_as_the_issue_asks():
    by = {p.key: p.values for p in PRESETS}
    assert by["paper"]["strategy"] == "convincing" and by["paper"]["wrong_fraction"] == 0.8
    assert by["paper"]["train_labels"] == "human" and by["paper"]["aggregation"] == "prod"
    assert by["demo"]["generate_with"] == "demo"
    assert by["auto_first"]["auto_label_with"] and by["auto_first"]["strategy"] == "disagreement"


def test_page_groups_the_form_and_folds_rare_options():
    page = login("ml_staff").get("/rounds/").content.decode()
    for key, title, shown, more in GROUPS:
        start = page.index(f'id="group-{key}"')
        end = page.index("</fieldset>", start)
        group = page[start:end]
        assert f"<legend>{title}</legend>" in group
        folded = group[group.index(f'<details id="more-{key}">'):] if more else ""
        for name in shown:
            assert f'id="opt-{name}"' in group and f'id="opt-{name}"' not in folded
        for name in more:
            assert f'id="opt-{name}"' in folded
    for p in PRESETS:
        assert f'id="preset-{p.key}"' in page and p.title in page
    assert page.count('id="opt-strategy"') == 1


# --- in a real browser --------------------------------------------------------------------------------------

def _tab_to(page, element_id: str, limit: int = 200):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached by Tab")


def test_start_a_round_from_a_preset_by_keyboard(browser, live_server, settings, dispatched):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    set_user("mls", "pw-for-browser-tests", "ml_staff")
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/accounts/login/?next=/rounds/")
    page.fill("#id_username", "mls")
    page.fill("#id_password", "pw-for-browser-tests")
    page.press("#id_password", "Enter")
    page.wait_for_url("**/rounds/")
    assert not page.is_visible("#opt-seed")  # folded away
    page.fill("#opt-per_problem", "9")  # a preset puts the defaults back first
    page.evaluate("() => document.activeElement.blur()")

    preset = next(p for p in PRESETS if p.key == "auto_first")
    _tab_to(page, "preset-auto_first")
    page.keyboard.press("Enter")
    page.wait_for_selector("#preset-status:not([hidden])")
    assert page.input_value("#opt-strategy") == "disagreement"
    assert page.input_value("#opt-auto_label_with") == "rollout"
    assert page.input_value("#opt-per_problem") == "4"
    if os.environ.get("STEPWISE_SCREENSHOT"):  # docs/round-form.png is taken this way
        page.evaluate("() => document.getElementById('more-auto_label').open = true")
        page.locator("#start-form").screenshot(path=os.environ["STEPWISE_SCREENSHOT"])
        page.evaluate("() => document.getElementById('more-auto_label').open = false")
    _tab_to(page, "start-round")
    page.keyboard.press("Enter")
    page.wait_for_url("**/rounds/?generation=1")
    r = Round.objects.get(generation=1)
    config = config_of(r)
    assert {k: getattr(config, k) for k in preset.values} == preset.values
    assert config.per_problem == 4 and dispatched == [r.pk]
    assert not errors, errors
