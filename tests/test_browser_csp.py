"""The Content-Security-Policy in a real browser: every page renders with no CSP violation and
no console error (KaTeX on the labelling page, Chart.js on /quality/ and /rounds/, Swagger UI,
the Django admin). Debian's chromium, driven by Playwright, as in test_browser.py."""
import pytest
from django.contrib.auth import get_user_model

from labeling.queue import claims as queue

from .test_browser import PASSWORD, _annotator, _solution, current_static_files  # noqa: F401
from .test_rounds_page import charts_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Registered before any page script runs: every violation the browser reports, in order.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber));
"""


def _open(browser, live_server, username):  # noqa: F811 (the browser fixture)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.add_init_script(COLLECT_VIOLATIONS)
    page.problems = []
    page.on("console", lambda m: _console_error(page, m))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def _console_error(page, message):
    # The site has no favicon: the browser's own request for /favicon.ico 404s; nothing else may fail.
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        page.problems.append(f"console: {message.text} ({message.location.get('url')})")


def _visit(page, url, ready):
    """Load url, wait until `ready` (a JS predicate) proves its scripts ran, return what went wrong."""
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"], url
    page.wait_for_function(ready)  # a function, not a string: Playwright evals strings, the CSP refuses
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__csp") + page.problems


def test_label_page_renders_katex_under_the_csp(browser, live_server):  # noqa: F811
    # Struts, SVG roots and wide accents, tall delimiters, and a parse error (KaTeX colours it).
    problem = ("Compute $\\frac{2}{3}+\\sqrt{x^2}$, $\\widehat{ABC}$, $\\overrightarrow{AB}$ and "
               "$$\\left(\\dfrac{\\dfrac{a}{b}}{\\sum_{k=1}^{n} k^2}\\right)$$ but not $\\frac{1$")
    queue.enqueue([_solution(problem_text=problem, steps=("We get $\\frac{a}{b}$.", "# Answer\n\n5"))])
    page = _open(browser, live_server, _annotator().user.username)
    assert _visit(page, f"{page.url}label/", "() => document.querySelector('#step-0 .katex')") == []
    assert page.locator("#problem-text .katex-display").count() == 1, page.inner_html("#problem-text")
    # KaTeX's layout lives in style attributes, and they were applied: struts have their height,
    # the parse error its colour.
    strut = "document.querySelector('#problem-text .katex-strut')"
    assert page.evaluate(f"parseFloat(getComputedStyle({strut}).height)") > 0
    assert page.evaluate("getComputedStyle(document.querySelector('.katex-error')).color") == "rgb(204, 0, 0)"
    page.keyboard.press("1")  # a rating saves a draft through the API: connect-src and the CSRF header
    page.wait_for_function("() => document.getElementById('save-state').textContent === 'Saved'")
    assert page.evaluate("window.__csp") + page.problems == []


CHARTS = "() => window.Chart && Object.keys(window.Chart.instances).length === {}"


@pytest.mark.parametrize(("path", "ready"), [
    ("/quality/", CHARTS.format(3)),
    ("/rounds/", CHARTS.format(4)),
    ("/api/docs/", "() => document.querySelector('#swagger-ui .opblock')"),
    ("/admin/", "() => document.querySelector('#content-main')"),
    ("/admin/auth/user/", "() => document.querySelector('#result_list')"),
])
def test_staff_pages_have_no_csp_violation(browser, live_server, path, ready):  # noqa: F811
    _annotator()  # a row for the quality charts
    charts_world()  # rounds, passes and scores for the charts across generations
    get_user_model().objects.create_superuser("csp-root", "root@example.com", PASSWORD)
    page = _open(browser, live_server, "csp-root")
    assert _visit(page, live_server.url + path, ready) == []
    if path == "/api/docs/":
        page.click("#swagger-ui .opblock-summary")  # expand an operation: more of Swagger UI renders
        page.wait_for_selector("#swagger-ui .opblock-body")
        assert page.evaluate("window.__csp") + page.problems == []


def test_admin_change_form_widgets_have_no_csp_violation(browser, live_server):  # noqa: F811
    root = get_user_model().objects.create_superuser("csp-root", "root@example.com", PASSWORD)
    page = _open(browser, live_server, "csp-root")
    # Date/time shortcuts and the two-box permission selector are the admin's heaviest scripts.
    problems = _visit(page, f"{live_server.url}/admin/auth/user/{root.pk}/change/",
                      "() => document.querySelector('#id_user_permissions_add_all')")  # made by SelectFilter2.js
    assert problems == []
    page.click(".datetimeshortcuts a")  # "Now"/"Today"
    assert page.evaluate("window.__csp") + page.problems == []


def test_an_inline_script_is_refused(browser, live_server):  # noqa: F811
    """The collector really sees violations: an injected inline script is blocked and reported."""
    page = _open(browser, live_server, _annotator().user.username)
    page.evaluate("""() => { const s = document.createElement("script");
                            s.textContent = "window.ran = 1"; document.body.append(s); }""")
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("window.ran") is None
    assert page.evaluate("window.__csp")[0].startswith("script-src-elem blocked inline")
    assert any("Content Security Policy" in p for p in page.problems), page.problems  # console, too
