"""Automatic grading of final answers against the reference answer (docs/method.md, "Answer grading").

`answers_match` compares a solution's final answer with the problem's ground truth using
math-verify (normalisation plus sympy equality, conservative). math-verify's own timeouts
use `signal.alarm`, which only works in the main thread and cannot stop a computation that
does not return to the interpreter, so every comparison runs in a small pool of long-lived
worker processes instead (with math-verify's timeouts off): the caller waits at most
`timeout` seconds of wall-clock time, and a worker that overruns is killed and replaced
(`worker_pool.py`).
This works the same from any thread (web requests, Celery, a management command). The round
trip costs well under a millisecond, against several milliseconds for a comparison, so the
isolation is always on.

`grade_solutions` is the service behind `manage.py grade_answers`: it fills
`Solution.answer_is_correct` and stamps `Solution.answer_graded_at` for solutions whose
problem has a reference answer, leaving alone anything already graded and any verdict that
came with the source data (e.g. ProcessBench's human `final_answer_correct`) unless forced.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from activelearn.grading.worker_pool import (
    DEFAULT_TIMEOUT,
    GradingTimeout,
    GradingUnavailable,
    GradingWorkerError,
    run_in_worker,
)
from labeling.formats.solution_text import boxed_contents, extract_answer

logger = logging.getLogger(__name__)


class _DropTimeoutDisabledWarning(logging.Filter):
    # Timeouts are enforced around math-verify (see below), so its own are switched off on
    # purpose and its one-time warning about that is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_DropTimeoutDisabledWarning())

# --------------------------------------------------------------------------------------
# Final answer extraction


_ANSWER_INLINE = re.compile(r"^\s*#+\s*(?:final\s+)?answer\s*:\s*(.+?)\s*$", re.I | re.M)
# Minerva's few-shot format, common in model outputs (e.g. ProcessBench).
_ANSWER_MINERVA = re.compile(r"final answer is:?\s*(.+?)\.?\s*I hope it is correct", re.I | re.S)


def extract_final_answer(solution_steps: list[str]) -> str | None:
    """The final answer stated in the last (non-blank) step, or None.

    Follows PRM800K's convention (the text after a `# Answer` heading) and `\\boxed{...}`
    with balanced braces, via `labeling.formats.solution_text.extract_answer`; also accepts a one-line
    `# Answer: ...` and Minerva's "The final answer is X. I hope it is correct." An answer
    that is itself `\\boxed{...}` or `$...$` is unwrapped.
    """
    last = next((s for s in reversed(solution_steps or []) if isinstance(s, str) and s.strip()), None)
    if last is None:
        return None
    answer = extract_answer(last)
    for pattern in (_ANSWER_INLINE, _ANSWER_MINERVA):
        if answer is None:
            found = pattern.findall(last)
            answer = found[-1] if found else None
    if answer is None:
        return None
    answer = clean_answer(answer)
    return answer or None


# --------------------------------------------------------------------------------------
# Comparison (runs inside a worker process)


_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_LATEX_ONLY = (LatexExtractionConfig(boxed_match_priority=0),)
_LATEX_AND_EXPR = (LatexExtractionConfig(), ExprExtractionConfig())


def clean_answer(answer: str) -> str:
    """Strip what surrounds an answer but is not part of it: \\boxed{}, math delimiters, a full stop."""
    s = answer.strip()
    if "\\boxed" in s or "\\fbox" in s:
        s = boxed_contents(s) or s
    changed = True
    while changed:
        changed = False
        for left, right in _DELIMITERS:
            if len(s) > len(left) + len(right) and s.startswith(left) and s.endswith(right) and not s.endswith(
                "\\" + right
            ):
                s = s[len(left):-len(right)].strip()
                changed = True
                break
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    return s


# Whole answers math-verify misreads, rewritten before parsing.
_SPACED_THOUSANDS = re.compile(r"-?\d{1,3}(?:(?:\\,|\\ |\\!|~|\s|\{,\}|,\\!|,)\d{3})+(?:\.\d+)?")
_THOUSANDS_SEP = re.compile(r"\\,|\\ |\\!|~|\s|\{,\}|,")
_REPEATING = re.compile(r"(-?)(\d*)\.(\d*)\\(?:overline|bar)\s*\{(\d+)\}")
_TEXT_WRAP = re.compile(r"\\(?:text|textbf|textrm|mathbf|mathrm)\s*\{([^{}]*)\}")
_CHOICE_LIST = re.compile(r"\(?([A-E])\)?(?:\s*(?:,|,?\s*and|,?\s*or)\s*\(?[A-E]\)?)*")
_CHOICE_LEAD = re.compile(r"\(([A-E])\)")


def _rewrite(answer: str) -> str:
    """`1 000`/`1\\,000` -> `1000`; `0.\\overline{3}` -> `\\frac{1}{3}`; else unchanged."""
    if _SPACED_THOUSANDS.fullmatch(answer):
        return _THOUSANDS_SEP.sub("", answer)
    m = _REPEATING.fullmatch(answer)
    if m:
        sign, whole, fixed, repeat = m.groups()
        den = (10 ** len(repeat) - 1) * 10 ** len(fixed)
        num = int(whole or "0") * den + int(fixed + repeat) - int(fixed or "0")
        return f"{sign}\\frac{{{num}}}{{{den}}}"
    return answer


def _choices(answer: str) -> frozenset[str] | None:
    """The multiple-choice letters an answer gives: `C`, `(C)`, `\\text{(C)}`, `\\text{A, C}`, `(C) 5`."""
    text = _TEXT_WRAP.sub(r"\1", answer).strip()
    if _CHOICE_LIST.fullmatch(text):
        return frozenset(re.findall(r"[A-E]", text))
    m = _CHOICE_LEAD.match(text)  # the letter in parentheses, then its value
    return frozenset(m.group(1)) if m else None


def _has_math(parsed: list) -> bool:
    return any(not isinstance(p, str) for p in parsed)


def _parse_answer(answer: str) -> list:
    """math-verify's parse of a bare answer, e.g. `\\frac{1}{2}` or `(1, 2]`.

    PRM800K and MATH answers are LaTeX without `$`, which math-verify would not find, so the
    answer is wrapped first: in `\\boxed{}` (balanced braces, multi-line), then in `$...$`
    (LaTeX and plain-expression extraction), then as is (plain expressions like `1/2`).
    The first attempt that yields a sympy object wins; otherwise the string fallbacks.
    """
    fallback: list = []
    for text, config in (
        (f"\\boxed{{{answer}}}", _LATEX_ONLY),
        (f"${answer}$", _LATEX_AND_EXPR),
        (answer, _LATEX_AND_EXPR),
    ):
        parsed = parse(text, extraction_config=config, parsing_timeout=None)
        if _has_math(parsed):
            return parsed
        fallback = fallback or parsed
    return fallback


def compare_answers(predicted: str, reference: str) -> bool | None:
    """The comparison itself, in this process and without a timeout: prefer `answers_match`.

    True/False when both answers parse to mathematical objects (or are the same string),
    None when either could not be parsed.
    """
    reference, predicted = _rewrite(clean_answer(reference)), _rewrite(clean_answer(predicted))
    gold_choices = _choices(reference)
    if gold_choices is not None:
        pred_choices = _choices(predicted)
        if pred_choices is not None:
            return gold_choices == pred_choices
    gold = _parse_answer(reference)
    pred = _parse_answer(predicted)
    if not gold or not pred:
        return None
    # allow_set_relation_comp: `x \\ge 3` is the same answer as `[3, \\infty)`.
    if verify(gold, pred, timeout_seconds=None, allow_set_relation_comp=True):
        return True
    if _has_math(gold) and _has_math(pred):
        return False
    return None  # one side is only a string that math-verify could not read: no verdict


# --------------------------------------------------------------------------------------
# Public comparison


def answers_match(predicted: str | None, reference: str | None, timeout: float = DEFAULT_TIMEOUT) -> bool | None:
    """Whether `predicted` is the same answer as `reference` (MATH-style LaTeX, with or without `$`).

    True or False, or None when an answer could not be parsed, the comparison took longer than
    `timeout` seconds, or it failed. Safe to call from any thread; never blocks much longer
    than `timeout` (plus, once, the start of a worker process). Raises GradingUnavailable
    only if no worker process can be started at all.
    """
    if predicted is None or reference is None:
        return None
    pred, ref = clean_answer(predicted), clean_answer(reference)
    if not pred or not ref:
        return None
    if pred == ref:
        return True
    try:
        return run_in_worker(compare_answers, pred, ref, timeout=timeout)
    except GradingUnavailable:
        raise
    except GradingTimeout:
        logger.warning("answer grading timed out after %ss: %.200r vs %.200r", timeout, pred, ref)
    except GradingWorkerError as exc:
        logger.warning("answer grading failed (%s): %.200r vs %.200r", exc, pred, ref)
    return None


# --------------------------------------------------------------------------------------
# Service


class Inline:
    """A stand-in for an executor that maps in the calling thread."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(fn: Callable, items: Iterable):
        return map(fn, items)


def benchmark(pairs: list[tuple[str, str]], repeat: int = 3) -> dict:
    """Comparisons per second in this process (no timeout) and through a worker, and the round trip."""
    for p, r in pairs:  # warm up both sides: imports, regex and parse caches
        compare_answers(p, r)
        run_in_worker(compare_answers, p, r)
    n = len(pairs) * repeat
    t = time.perf_counter()
    for _ in range(repeat):
        for p, r in pairs:
            compare_answers(p, r)
    inline = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(repeat):
        for p, r in pairs:
            run_in_worker(compare_answers, p, r)
    worker = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(500):
        run_in_worker(len, "x")
    round_trip = (time.perf_counter() - t) / 500
    return {"comparisons": n, "inline_per_s": n / inline, "worker_per_s": n / worker,
            "round_trip_ms": 1000 * round_trip}
