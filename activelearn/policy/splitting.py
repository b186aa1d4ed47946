"""From a sampled text to a solution: its steps (by the connection's splitting rule) and its final
answer (the grader's extraction), or the reason it is dropped.

Rules: `newline` (one step per line, as PRM800K's generator wrote them), `blank_line` (paragraphs),
`pattern` (a regular expression that separates steps), or the import's strategies for long chains of thought
(`numbered`, `markers`, `sentences`: labeling.formats.segmentation). Whatever the rule, a `# Answer` heading
and the answer after it stay in the last step, as in PRM800K's pre-generated solutions.

A sample that is an agent's trace (`split_trace`) is not split by a rule: its steps are its assistant turns, and
it is kept as an imported trace is (labeling.formats.trajectories: the record, the turns' message indexes and
contexts in the solution's `extra`, its conversation as its identity).
"""
import re
from dataclasses import dataclass

from activelearn.grading.answers import extract_final_answer
from labeling.formats import limits, segmentation, trajectories
from labeling.formats.errors import RecordError

RULES = ("newline", "blank_line", "pattern", "numbered", "markers", "sentences")
_SEGMENTED = ("numbered", "markers", "sentences")
_ANSWER_HEAD = re.compile(r"^\s*#+\s*answer\b", re.I)
_BLANK = re.compile(r"\n\s*\n")


class Dropped(str):
    """Why a sample is not kept: empty, truncated (it hit max_tokens), too_long (more steps, or a
    longer step, than the connection allows, or more steps than MAX_SOLUTION_STEPS)."""


EMPTY, TRUNCATED, TOO_LONG = Dropped("empty"), Dropped("truncated"), Dropped("too_long")


@dataclass(frozen=True)
class Split:
    steps: list[str]
    final_answer: str | None
    extra: dict | None = None  # a trace's record and step positions, kept on the solution
    key: str | None = None  # a trace's identity (its conversation); None: the steps' and answer's


def check_pattern(pattern: str) -> str:
    """A `pattern` rule's expression must compile and must not match the empty string."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression: {exc}") from None
    if compiled.fullmatch(""):
        raise ValueError("must not match the empty string")
    return pattern


def _pieces(text: str, rule: str, pattern: str) -> list[str]:
    if rule == "newline":
        parts = text.split("\n")
    elif rule == "blank_line":
        parts = _BLANK.split(text)
    elif rule in _SEGMENTED:
        parts = segmentation.segment(text, segmentation.Segmentation(strategy=rule))
    else:
        parts = re.split(pattern, text)
    return [p.strip() for p in parts if p and p.strip()]


def split(text: str, rule: str = "newline", pattern: str = "", *, max_steps: int = 64,
          max_step_chars: int = 4000, finish_reason: str | None = None) -> Split | Dropped:
    """The steps and final answer of one sample, or why it is dropped."""
    if finish_reason == "length":
        return TRUNCATED  # cut off by max_tokens: its last step and its answer are not what it meant
    # never more steps than the submit takes (a solution nobody could finish), whatever the connection says
    max_steps = min(max_steps, limits.max_steps())
    if len(text) > max_steps * (max_step_chars + 2) + 4096:
        return TOO_LONG  # more text than the steps allowed could hold: refused before any splitting (a server's
        # 100 MB answer costs no regular expression's time)
    steps: list[str] = []
    answer_tail = False
    for piece in _pieces(text, rule, pattern):
        if steps and (answer_tail or _ANSWER_HEAD.match(piece)):
            # `# Answer` and what follows it belong to the last step (PRM800K's convention), with
            # a blank line around the heading as PRM800K writes it
            heading = _ANSWER_HEAD.match(piece) or _ANSWER_HEAD.match(steps[-1].rsplit("\n", 1)[-1])
            steps[-1] = f"{steps[-1]}{chr(10) * 2 if heading else chr(10)}{piece}"
            answer_tail = True
        else:
            steps.append(piece)
    if not steps:
        return EMPTY
    if len(steps) > max_steps or max(len(s) for s in steps) > max_step_chars:
        return TOO_LONG
    return Split(steps, extract_final_answer(steps))


def split_trace(rec: dict) -> Split | Dropped:
    """An agent's trace as an import stores it; one the import would refuse (too many turns...) is too long."""
    try:
        solution = trajectories.parse_trace(rec).solution
    except RecordError:
        return TOO_LONG
    if len(solution.steps) > limits.max_steps():
        return TOO_LONG
    return Split(solution.steps, solution.final_answer, solution.extra, solution.key)
