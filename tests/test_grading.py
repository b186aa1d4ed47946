"""Automatic answer grading: extraction, math-verify comparison, timeouts, and the grade_solutions service."""
import io
import os
import threading
import time

import pytest
from django.core.management import call_command

from activelearn.grading import answers as grading
from activelearn.grading import worker_pool
from activelearn.grading.answers import answers_match, extract_final_answer
from activelearn.grading.solutions import grade_solutions
from labeling.models import Problem, Solution
from labeling.storage.hashing import problem_hash, solution_hash

# (predicted, reference, expected): MATH-style answers as they appear in PRM800K (bare LaTeX, no `$`).
PAIRS = [
    # plain numbers
    ("5", "5", True),
    ("5", "6", False),
    ("0.5", "\\frac{1}{2}", True),
    ("2.50", "2.5", True),
    ("007", "7", True),
    (".5", "0.5", True),
    ("1.5", "\\frac{3}{2}", True),
    ("3.14", "\\pi", False),
    ("0.333", "\\frac13", False),
    ("0.3333333", "\\frac13", True),
    ("2^{10}", "1024", True),
    ("10!", "3628800", True),
    ("\\binom{5}{2}", "10", True),
    ("10^{-3}", "0.001", True),
    ("1.2 \\times 10^{3}", "1200", True),
    # fractions, \frac vs /, \dfrac, mixed numbers, repeating decimals
    ("\\frac{1}{2}", "1/2", True),
    ("1/2", "\\frac{1}{2}", True),
    ("\\dfrac{3}{4}", "\\frac{3}{4}", True),
    ("\\tfrac{3}{4}", "\\frac34", True),
    ("\\frac{2}{4}", "\\frac{1}{2}", True),
    ("\\frac{1}{3}", "\\frac{1}{2}", False),
    ("-\\frac{1}{2}", "\\frac{-1}{2}", True),
    ("\\frac{7}{2}", "3\\frac{1}{2}", True),
    ("\\frac{14}{3}", "4\\frac{2}{3}", True),
    ("\\frac{a}{b}", "a/b", True),
    ("\\frac13", "0.\\overline{3}", True),
    ("\\frac{4}{11}", "0.\\overline{36}", True),
    ("\\frac{37}{30}", "1.2\\overline{3}", True),
    ("\\frac{1}{3}", "0.\\overline{6}", False),
    # negative numbers
    ("-3", "-3", True),
    ("-3", "3", False),
    ("- 7", "-7", True),
    # intervals
    ("(1,2]", "(1, 2]", True),
    ("[1,2]", "(1,2]", False),
    ("(-\\infty, 3)", "(-\\infty,3)", True),
    ("(-\\infty,-2]\\cup[3,\\infty)", "(-\\infty, -2] \\cup [3, \\infty)", True),
    ("[-2,7]", "[-2, 7)", False),
    ("\\left[ -1, 1 \\right]", "[-1,1]", True),
    ("x \\in [2, 5)", "[2,5)", True),
    ("x \\ge 3", "[3,\\infty)", True),
    ("x > 3", "[3,\\infty)", False),
    ("-2 < x < 3", "(-2,3)", True),
    # tuples / ordered pairs
    ("(3, -4)", "(3,-4)", True),
    ("(-4, 3)", "(3,-4)", False),
    ("(1,2,3)", "(1, 2, 3)", True),
    ("(1,2)", "(2,1)", False),
    ("\\left(\\frac{1}{2}, 3\\right)", "(0.5, 3)", True),
    ("\\left(2, \\frac{\\pi}{4}\\right)", "(2,\\frac{\\pi}{4})", True),
    # \text{} answers
    ("\\text{Monday}", "Monday", True),
    ("Monday", "\\text{Monday}", True),
    ("\\text{odd}", "\\text{even}", False),
    ("\\text{Tuesday}", "\\text{Monday}", False),
    ("\\text{Elephant}", "\\text{elephant}", True),
    ("\\text{yes}", "\\text{no}", False),
    ("\\text{none}", "\\text{None}", True),
    # units
    ("5 \\text{ cm}", "5", True),
    ("5\\text{ cm}^2", "5", True),
    ("12\\text{ inches}", "12", True),
    ("5 \\text{ cm}", "6", False),
    ("\\$18.90", "18.90", True),
    ("\\$5", "5", True),
    ("40\\text{ mph}", "40", True),
    ("20 \\text{ square units}", "20", True),
    ("1.5\\text{ hours}", "1.5", True),
    ("500\\text{ dollars}", "\\$500", True),
    ("32\\text{ cents}", "32", True),
    # thousands separators
    ("1,000", "1000", True),
    ("1{,}000", "1000", True),
    ("10,\\!000", "10000", True),
    ("1\\,000", "1000", True),
    ("1 000", "1000", True),
    ("1,000,000", "10^6", True),
    ("\\$1,\\!000", "1000", True),
    ("123,456", "123456", True),
    ("1,001", "1000", False),
    ("1,2", "12", False),
    # degrees
    ("30^\\circ", "30", True),
    ("30^{\\circ}", "30", True),
    ("30", "30^\\circ", True),
    ("45^\\circ", "30^\\circ", False),
    ("10^\\circ", "10^{\\circ}", True),
    # pi
    ("2\\pi", "2 \\pi", True),
    ("\\pi/2", "\\frac{\\pi}{2}", True),
    ("\\frac{\\pi}{3}", "\\frac{\\pi}{6}", False),
    ("4\\pi", "\\pi \\cdot 4", True),
    ("2\\pi", "\\pi", False),
    # square roots
    ("2\\sqrt{3}", "\\sqrt{12}", True),
    ("\\sqrt2", "\\sqrt{2}", True),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", True),
    ("\\sqrt{3}", "\\sqrt{2}", False),
    ("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", True),
    ("8\\sqrt{2}", "\\sqrt{128}", True),
    ("3+2\\sqrt{2}", "2\\sqrt{2}+3", True),
    ("\\sqrt[3]{2}", "2^{1/3}", True),
    ("3\\sqrt{3}", "5.196", False),
    # equations and expressions
    ("x=3", "3", True),
    ("3", "x=3", True),
    ("x = 4", "x=3", False),
    ("k = 5", "5", True),
    ("y = 2x+1", "y=2x+1", True),
    ("y=2x+1", "y = 2x - 1", False),
    ("y = -\\frac{1}{2}x + 3", "y=-\\frac12 x+3", True),
    ("f(x) = 2x", "2x", True),
    ("x^2+2x+1", "(x+1)^2", True),
    ("x^2 - 4", "(x-2)(x+2)", True),
    ("2x+1", "2x-1", False),
    # sets and lists of solutions
    ("\\{1,2,3\\}", "\\{3,2,1\\}", True),
    ("1,2,3", "3, 2, 1", True),
    ("-2, 5", "5, -2", True),
    ("1, 2", "1, 2, 3", False),
    ("\\{1, 2\\}", "\\{1, 3\\}", False),
    ("x = 1 \\text{ or } x = 2", "1, 2", True),
    ("2 \\text{ and } 3", "2,3", True),
    ("2, -2", "\\pm 2", True),
    ("1 \\pm \\sqrt{2}", "1+\\sqrt2, 1-\\sqrt2", True),
    ("\\emptyset", "\\{\\}", True),
    # multiple-choice letters
    ("C", "\\text{(C)}", True),
    ("(C)", "\\text{(C)}", True),
    ("\\text{(A)}", "A", True),
    ("C", "(D)", False),
    ("\\textbf{(B)}", "\\text{(B)}", True),
    ("(E)", "E", True),
    ("B", "\\text{(A)}", False),
    ("\\text{(C) }5", "\\text{(C)}", True),
    ("D", "\\textbf{(D) }2", True),
    ("B", "\\textbf{(D) }2", False),
    ("A, C", "\\text{(A), (C)}", True),
    ("A, C", "\\text{A, B}", False),
    # percentages
    ("50\\%", "50", True),
    ("25\\%", "50", False),
    # matrices and vectors
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", True),
    ("\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", True),
    ("\\begin{pmatrix} 1 \\\\ 3 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", False),
    # complex numbers, infinity
    ("3+4i", "3 + 4i", True),
    ("3-4i", "3+4i", False),
    ("\\infty", "\\infty", True),
    # answers still wrapped the way a solution wrote them
    ("$\\frac12$", "0.5", True),
    ("\\boxed{7}", "7", True),
    ("7.", "7", True),
]
PATHOLOGICAL = "10^{10^{10^{10}}}"  # verify() never returns on it (sympy tries to evaluate the number)


@pytest.fixture(scope="module", autouse=True)
def _workers():
    yield
    worker_pool.shutdown_workers()


def test_table_is_big_and_balanced():
    assert len(PAIRS) >= 50
    assert sum(1 for *_, e in PAIRS if e is False) >= 30
    assert len({(p, r) for p, r, _ in PAIRS}) == len(PAIRS)


@pytest.mark.parametrize(("predicted", "reference", "expected"), PAIRS)
def test_answers_match(predicted, reference, expected):
    assert answers_match(predicted, reference) is expected


@pytest.mark.parametrize(("predicted", "reference"), [
    ("", "5"), ("5", ""), ("  ", "5"), (None, "5"), ("5", None),
    ("\\frac{1}{", "\\frac12"),  # malformed LaTeX: no verdict rather than "wrong"
])
def test_answers_match_none_when_nothing_to_compare(predicted, reference):
    assert answers_match(predicted, reference) is None


# --- extraction ---------------------------------------------------------------------


@pytest.mark.parametrize(("steps", "expected"), [
    (["Let x = 2.", "So the answer is 4.\n\n# Answer\n\n4"], "4"),
    (["Compute.", "# Answer\n\n\\frac{1}{2}"], "\\frac{1}{2}"),
    (["Compute.", "Done.\n# Answer\n\n$(1, 2]$  "], "(1, 2]"),
    (["So the result is $\\boxed{\\frac{\\sqrt{3}}{2}}$."], "\\frac{\\sqrt{3}}{2}"),
    (["First $\\boxed{1}$, then $\\boxed{\\left\\{ \\frac{1}{2}, 3 \\right\\}}$."],
     "\\left\\{ \\frac{1}{2}, 3 \\right\\}"),
    (["We get \\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}"], "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
    (["# Answer\n\n\\boxed{7}"], "7"),
    (["Therefore:\n# Answer: 12"], "12"),
    (["Final Answer: The final answer is $\\frac{3}{2}$. I hope it is correct."], "\\frac{3}{2}"),
    (["Final Answer: The final answer is 2.25. I hope it is correct."], "2.25"),
    (["The answer is \\boxed{5}.", "  ", ""], "5"),  # trailing blank steps
    (["The answer is \\boxed{5}.", "But wait, I need to check that."], None),  # only the last step counts
    (["No final answer here, just 1 + 1 = 2."], None),
    (["Unclosed \\boxed{1 + {2}"], None),
    ([], None),
])
def test_extract_final_answer(steps, expected):
    assert extract_final_answer(steps) == expected


# --- timeouts and worker isolation ---------------------------------------------------


def _warm():
    assert answers_match("1/2", "0.5") is True  # the worker is started (start-up is not counted)


def test_timeout_kills_a_sleeping_worker_and_recovers():
    _warm()
    t = time.monotonic()
    with pytest.raises(worker_pool.GradingTimeout):
        worker_pool.run_in_worker(time.sleep, 60, timeout=1.0)
    assert time.monotonic() - t < 2.5
    assert answers_match("\\dfrac{6}{8}", "\\frac34") is True


def test_pathological_expression_returns_none_within_timeout():
    _warm()
    t = time.monotonic()
    assert answers_match(PATHOLOGICAL, "1", timeout=1.0) is None
    assert time.monotonic() - t < 3.0
    assert answers_match("2\\sqrt{3}", "\\sqrt{12}") is True


def test_timeout_from_non_main_threads():
    _warm()
    results = {}

    def work(name, predicted, reference, timeout):
        t = time.monotonic()
        results[name] = (answers_match(predicted, reference, timeout=timeout), time.monotonic() - t)

    # The fast comparison gets room to spare: on a loaded machine (CI beside other jobs) one second was not
    # always enough for it, and what is tested is that the slow one times out without holding up the other.
    threads = [threading.Thread(target=work, args=("slow", PATHOLOGICAL, "1", 1.0)),
               threading.Thread(target=work, args=("fast", "(3, -4)", "(3,-4)", 30.0))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert results["slow"][0] is None and results["slow"][1] < 15.0  # cut off, not run to its end
    assert results["fast"][0] is True
    assert answers_match("x=3", "3") is True


def test_compare_answers_does_not_use_signals():
    # math-verify's own timeouts call signal.alarm, which raises outside the main thread.
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("v", grading.compare_answers("\\frac{1}{2}", "0.5")))
    th.start()
    th.join(30)
    assert out["v"] is True


def test_exception_in_worker_is_reported():
    _warm()
    with pytest.raises(worker_pool.GradingWorkerError, match="ValueError"):
        worker_pool.run_in_worker(int, "not a number", timeout=5.0)
    assert answers_match("\\sqrt{8}", "2\\sqrt{2}") is True


def test_dead_worker_is_replaced():
    _warm()
    with pytest.raises(worker_pool.GradingWorkerError):
        worker_pool.run_in_worker(os._exit, 3, timeout=5.0)
    assert answers_match("-3", "3") is False


# --- grade_solutions -------------------------------------------------------------------


def _problem(text, answer):
    return Problem.objects.create(text=text, ground_truth_answer=answer, content_hash=problem_hash(text))


def _solution(problem, steps, final_answer=None, **kw):
    return Solution.objects.create(problem=problem, steps=steps, final_answer=final_answer,
                                   content_hash=solution_hash(problem.content_hash, steps, final_answer), **kw)


@pytest.fixture
def rows(db):
    half = _problem("What is 1/2 as a fraction?", "\\frac{1}{2}")
    no_ref = _problem("A problem without a reference answer.", None)
    return {
        "extracted_right": _solution(half, ["Halve one.", "# Answer\n\n1/2"]),
        "boxed_right": _solution(half, ["It is $\\boxed{0.5}$."]),
        "final_wrong": _solution(half, ["Guess."], final_answer="0.6"),
        "no_answer": _solution(half, ["I give up."]),
        "unparseable": _solution(half, ["Hmm.", "# Answer\n\n\\frac{1}{"]),
        "source_graded": _solution(half, ["Source says wrong."], final_answer="1/2", answer_is_correct=False),
        "no_reference": _solution(no_ref, ["# Answer\n\n3"]),
    }


def _state(rows):
    out = {}
    for name, s in rows.items():
        s.refresh_from_db()
        out[name] = (s.answer_is_correct, s.answer_graded_at)
    return out


@pytest.mark.django_db
def test_grade_solutions(rows):
    seen = []
    counts = grade_solutions(progress=seen.append, chunk_size=2)
    assert counts == {"graded": 3, "correct": 2, "wrong": 1, "ungradable": 2, "skipped": 2}
    assert seen == [2, 4, 5]
    state = _state(rows)
    assert state["extracted_right"][0] is True and state["extracted_right"][1] is not None
    assert state["boxed_right"][0] is True and state["boxed_right"][1] is not None
    assert state["final_wrong"][0] is False and state["final_wrong"][1] is not None
    for name in ("no_answer", "unparseable", "no_reference"):
        assert state[name] == (None, None)
    assert state["source_graded"] == (False, None)  # the source's verdict is left alone

    # Idempotent: nothing graded again, timestamps kept; ungradable ones are tried again.
    assert grade_solutions() == {"graded": 0, "correct": 0, "wrong": 0, "ungradable": 2, "skipped": 5}
    assert _state(rows) == state


@pytest.mark.django_db
def test_grade_solutions_force_overrides_source_and_regrades(rows):
    first = grade_solutions()
    before = _state(rows)
    counts = grade_solutions(force=True, workers=2)
    assert counts == {"graded": 4, "correct": 3, "wrong": 1, "ungradable": 2, "skipped": 1}
    after = _state(rows)
    assert after["source_graded"][0] is True and after["source_graded"][1] is not None
    assert after["extracted_right"][1] > before["extracted_right"][1]
    assert first["graded"] == 3


@pytest.mark.django_db
def test_grade_solutions_queryset(rows):
    counts = grade_solutions(Solution.objects.filter(pk=rows["final_wrong"].pk))
    assert counts == {"graded": 1, "correct": 0, "wrong": 1, "ungradable": 0, "skipped": 0}
    assert Solution.objects.filter(answer_graded_at__isnull=False).count() == 1
    assert grade_solutions(Solution.objects.filter(pk=rows["final_wrong"].pk))["skipped"] == 1


@pytest.mark.django_db
def test_grade_answers_command(rows):
    out, err = io.StringIO(), io.StringIO()
    call_command("grade_answers", "--workers", "1", stdout=out, stderr=err)
    assert "graded 3 (2 correct, 1 wrong), 2 ungradable, 2 skipped" in out.getvalue()
    out = io.StringIO()
    call_command("grade_answers", "--force", "--no-progress", stdout=out)
    assert "graded 4 (3 correct, 1 wrong), 2 ungradable, 1 skipped" in out.getvalue()
