"""Hostile text on the labelling page, in real headless Chromium: whatever a problem or a step holds
(placeholder look-alikes, deep nesting, huge or unbalanced input, link tricks, raw HTML, odd
Unicode, macro bombs), the page renders it without a page error, runs nothing, loads nothing, keeps
KaTeX markup out of attributes, shows the text, and the pass can still be submitted, given up or
reported by keyboard."""
import time

import pytest

from labeling.models import LabeledPass
from labeling.queue import claims as queue

from .test_browser import PASSWORD, _annotator, _solution, current_static_files  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DEEP_UNDERBRACE = "$" + "\\underbrace{" * 3000 + "x" + "}" * 3000 + "$"
DEEP_BRACES = "$" + "{" * 2000 + "x" + "}" * 2000 + "$"
DEEP_FRAC = "$" + "\\frac{1}{" * 2000 + "x" + "}" * 2000 + "$"
BIG_STEP = ("A long step with $x^{2}$ and **bold** text. " * 7000)[:300_000]
# Just under the plain-text cut-off, so they go through the math scanner (quadratic for a regex).
UNCLOSED_DOLLARS = "$" + "\\$" * 49_500
UNCLOSED_PARENS = "\\(" * 49_500
UNCLOSED_BRACKETS = "\\[ " * 33_000

# (text, a substring the rendered step must show: None where only "something is visible" is checked)
PLACEHOLDERS = [
    ("@@MATH0@@", "@@MATH0@@"),
    ("@@MATH5@@ next to $x$", "@@MATH5@@"),
    ("@@MATH-1@@ and @@MATH99999999999999999999@@", "@@MATH-1@@"),
    ("MX0123abcdX0MX0123abcdX $y$ MXX1MXX", "MX0123abcdX0MX0123abcdX"),  # the page's own format, forged
    ("\ue000 0 \ue001 \U000f0000 $z$", None),  # private-use characters
]
LINKS = [
    ("[x](@@MATH0@@) $a$", "[x](@@MATH0@@)"),
    ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
    ("![i](http://127.0.0.1:1/x.png)", "![i](http://127.0.0.1:1/x.png)"),
    ("<javascript:alert(1)> <http://127.0.0.1:1/> [r]\n\n[r]: javascript:alert(1)", "[r]: javascript:alert(1)"),
    ("$\\href{javascript:alert(1)}{x}$ and $\\url{javascript:alert(1)}$", None),
    ("$\\includegraphics{http://127.0.0.1:1/x.png}$ $\\htmlClass{x}{y}$ $\\htmlStyle{color:red}{z}$", None),
    ("```$x$ $\\frac{1}{2}$\ncode $y$\n```\n\nafter $z$", "code $y$"),
    ("inline `$a$` code", "$a$"),
]
UNBALANCED = [
    ("$a", "$a"), ("$$a$", "a"), ("\\[a", "[a"), ("a\\]", "a]"), ("\\(a $$", "(a $$"),
    ("$", "$"), ("$$", "$$"), ("a$b$$c", "a"), ("costs \\$5 and \\$6", "$5 and $6"),
]
HTML = [
    ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ('<a href="javascript:alert(1)">y</a> <svg onload=alert(1)>', "<svg onload=alert(1)>"),
    ("$<img src=x onerror=alert(1)>$ $\\text{<script>alert(1)</script>}$", None),
    ("</div></li></ol><button id=submit-btn>fake</button>", "fake</button>"),
]
UNICODE = [
    ("ctl \x01\x02\x07\x08\x0b\x0c\x0e\x1b[31m\x7f\x85 end $x\x01$", "ctl"),
    ("rtl \u202egnp.exe\u202c \u2066iso\u2069 \u2028\u2029 end", "gnp.exe"),
    ("emoji \U0001F469\u200d\U0001F469\u200d\U0001F467 \U0001F9EE $\\text{\U0001F600}$ \ufeff", "\U0001F9EE"),
    ("Z\u0334\u0321\u031ba" + "\u0301" * 500 + " $e\u0301$", "Z"),
]
MACROS = [
    ("$\\def\\a{\\a\\a}\\a$", None),
    ("$\\def\\a#1{#1#1}" + "\\a{" * 30 + "x" + "}" * 30 + "$", None),
    ("$\\newcommand{\\b}{\\b}\\b$ $\\gdef\\c{\\c c}\\c$", None),
    ("$\\rule{100000em}{100000em}$ $\\kern{100000em}$ $\\Huge\\Huge x$", None),
]


@pytest.fixture
def pages():
    opened = []
    yield opened
    for page in opened:  # a failed test's page would go on retrying its draft into the next test
        page.close()


def _open(browser, live_server, annotator, pages):  # noqa: F811 (the browser fixture)
    """The labelling page with every way to misbehave recorded from before its first script runs."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    pages.append(page)
    page.set_default_timeout(10_000)  # each page renders in well under a second
    page.add_init_script("""window.__csp = []; document.addEventListener("securitypolicyviolation",
      (e) => window.__csp.push(e.violatedDirective + " blocked " + e.blockedURI));""")
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: r.url.startswith((live_server.url, "data:"))
            or page.problems.append(f"request to {r.url}"))
    page.goto(f"{live_server.url}/accounts/login/?next=/label/")
    page.fill("#id_username", annotator.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/label/")
    return page


# What must never be in the rendered page: script elements, event handlers, javascript: URLs,
# markup inside an attribute (as when KaTeX output lands in an href), or an attribute name that
# shows HTML was spliced together.
DOM_PROBLEMS = """() => {
  const root = document.getElementById("label-app"), bad = [];
  if (root.querySelector("script, img, iframe, object, embed, a[href]")) bad.push("active element");
  for (const el of root.querySelectorAll("*")) for (const a of el.attributes) {
    if (/^on/i.test(a.name)) bad.push("handler " + a.name);
    if (!/^[A-Za-z][A-Za-z0-9:_.-]*$/.test(a.name)) bad.push("attribute name " + a.name);
    if (/^\\s*javascript:/i.test(a.value)) bad.push("javascript: in " + a.name);
    if (a.name === "class" ? /[<"=]/.test(a.value) : /<span|class=|katex/.test(a.value))
      bad.push("markup in " + el.tagName + "[" + a.name + "]: " + a.value.slice(0, 80));
  }
  return bad.concat(window.__csp);
}"""


def _check_and_finish(page, texts, finish):
    """Every step shows its text (each appears once the one before is rated) and the page is clean;
    then the pass is finished by keyboard: rate the last step and Enter, or give up / report it."""
    assert page.is_visible("#problem-text") and page.inner_text("#problem-text").strip(), page.problems
    for i, (text, shows) in enumerate(texts):
        page.wait_for_selector(f"#step-{i} .step-text", state="visible")
        shown = page.inner_text(f"#step-{i} .step-text")
        assert f"Case {i}." in shown, (i, text[:80], shown[:200], page.problems)
        if shows:
            assert shows in shown, (i, text[:80], shown[:200])
        if i < len(texts) - 1 or finish == "submit":
            page.keyboard.press("1")  # the selection moves on to the next step
    assert page.evaluate(DOM_PROBLEMS) == [], [t[:60] for t, _ in texts]
    page.plain_steps = page.eval_on_selector_all(".step-text.unrendered", "els => els.map(e => e.parentNode.id)")
    if finish == "submit":
        page.keyboard.press("Enter")
    else:
        page.keyboard.press("g" if finish == "give_up" else "b")
        page.keyboard.type("The text is hostile")
        page.keyboard.press("Tab")  # from the reason to Send
        page.keyboard.press("Enter")
    page.wait_for_selector("#empty-reason")
    assert page.problems == [], page.problems


def _run(browser, live_server, pages, cases, finish, problem=None, plain=()):  # noqa: F811
    """One solution whose steps are `cases` (and, unless given, a problem made of them all); only the
    steps numbered in `plain` may fall back to plain text as a whole."""
    texts = [(f"Case {i}.\n\n{text}", shows) for i, (text, shows) in enumerate(cases)]
    queue.enqueue([_solution(problem_text=problem if problem is not None else "\n\n".join(t for t, _ in cases),
                             steps=[t for t, _ in texts])])
    started = time.monotonic()
    page = _open(browser, live_server, _annotator(), pages)
    _check_and_finish(page, texts, finish)
    assert page.plain_steps == [f"step-{i}" for i in plain]
    p = LabeledPass.objects.get()
    if finish == "submit":
        assert p.finish_reason == "solution" and len(p.steps) == len(cases)
        assert all(s["completions"][0]["rating"] == 1 for s in p.steps)
    else:
        assert p.finish_reason == finish and p.reason_text == "The text is hostile"
    return time.monotonic() - started


@pytest.mark.parametrize(("cases", "finish"), [
    pytest.param(PLACEHOLDERS, "submit", id="placeholders"),
    pytest.param(LINKS, "submit", id="links"),
    pytest.param(UNBALANCED, "give_up", id="unbalanced"),
    pytest.param(HTML, "bad_problem", id="html"),
    pytest.param(UNICODE, "submit", id="unicode"),
    pytest.param(MACROS, "submit", id="macros"),
])
def test_hostile_texts_render_and_submit(browser, live_server, pages, cases, finish):  # noqa: F811
    _run(browser, live_server, pages, cases, finish)


# KaTeX overflows the stack at about 600 nested \frac or \underbrace and 1,900 nested braces (in V8):
# past that the formula is shown as marked source text; below it, it renders.
@pytest.mark.parametrize(("text", "finish", "shown_as"), [
    pytest.param(DEEP_UNDERBRACE, "submit", ".unrendered[title]", id="underbrace-3000"),
    pytest.param(DEEP_BRACES, "give_up", ".unrendered[title], .katex", id="braces-2000"),
    pytest.param(DEEP_FRAC, "bad_problem", ".unrendered[title]", id="frac-2000"),
    pytest.param(">" * 2000 + " deep quote", "submit", ".unrendered[title]", id="blockquote-2000"),
])
def test_deep_nesting_is_shown_as_marked_text(browser, live_server, pages, text, finish, shown_as):  # noqa: F811
    texts = [(f"Case 0.\n\n{text}", None), ("Case 1.\n\nA normal step $1+1=2$.", None)]
    queue.enqueue([_solution(problem_text=text, steps=[t for t, _ in texts])])
    page = _open(browser, live_server, _annotator(), pages)
    page.wait_for_selector("#step-0 .step-text")
    either = lambda root: ", ".join(f"{root}{sel}, {root} {sel}" for sel in shown_as.split(", "))  # noqa: E731
    assert page.locator(either("#step-0 .step-text")).count() == 1, page.problems  # marked, not dropped
    assert page.locator(either("#problem-text")).count() == 1
    _check_and_finish(page, texts, finish)
    assert LabeledPass.objects.get().finish_reason == ("solution" if finish == "submit" else finish)


def test_huge_and_unclosed_texts_stay_fast(browser, live_server, pages):  # noqa: F811
    # Markdown shows \$, \( and \[ as $, ( and [.
    cases = [(BIG_STEP, "A long step with $x^{2}$"), (UNCLOSED_DOLLARS, "$$$$"), (UNCLOSED_PARENS, "(((("),
             (UNCLOSED_BRACKETS, "[ [ [")]
    problem = UNCLOSED_DOLLARS[:50_000] + UNCLOSED_PARENS[:49_000]
    seconds = _run(browser, live_server, pages, cases, "submit", problem=problem, plain=[0])
    assert seconds < 15, seconds  # login, five big texts and a submit; a few seconds when linear


def test_a_long_text_is_plain_and_marked(browser, live_server, pages):  # noqa: F811
    queue.enqueue([_solution(problem_text="Long", steps=[BIG_STEP, "# Answer\n\n5"])])
    page = _open(browser, live_server, _annotator(), pages)
    page.wait_for_selector("#step-0 .step-text.unrendered")
    assert "render" in page.get_attribute("#step-0 .step-text", "title")
    assert page.locator("#step-0 .katex").count() == 0
