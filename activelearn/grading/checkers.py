"""Outcome checkers: is a solution's (or an agent trace's) final answer right? One is chosen per project
(`Project.outcome_checker`, `{"kind": ..., options}`; empty: math, today's grading):

- `math`: math-verify against the reference (activelearn.grading.answers);
- `exact`: the answer equals one of the accepted answers, as written (surrounding spaces aside);
- `normalised`: HotpotQA's / SQuAD's exact match: lower case, punctuation and articles (a, an, the) dropped,
  spaces collapsed;
- `numeric`: the first number in the answer is within `rel_tol` / `abs_tol` of an accepted number;
- `regex`: the answer matches `pattern` (a full match; `flags`: "i" for any case), in the grading worker
  with its time limit, so that a pattern that backtracks forever costs `timeout` seconds, never a hang;
- `file`: the outcome the import file carried (`reward_info.reward` of a trace) at or above `threshold`;
- `unit_tests`: the answer's program (its last ```python block, else the whole answer) with `tests` appended
  runs in the sandbox (activelearn.grading.sandbox: no network, CPU / memory / process / time limits); right
  when it exits 0;
- `judge`: a judge model over a policy connection (activelearn.labellers.outcome_judge) says whether the
  answer is right; its callable is passed in, since grading sits below the policy layer.

`check` answers True, False, or None (cannot tell: no answer, no reference, a time-out, an unreadable
verdict): None leaves the solution ungraded, as math grading does.
"""
from __future__ import annotations

import math
import re
import string
from collections.abc import Callable

from activelearn.grading.answers import answers_match
from activelearn.grading.worker_pool import DEFAULT_TIMEOUT, GradingTimeout, GradingWorkerError, run_in_worker
from labeling.checker_config import KINDS, OPTIONS, CheckerError, validate

# What a valid checker setting is lives beside the Project model, which checks it on every save path (the
# settings page, the API, grade_outcomes); named here too, where the checks are.
__all__ = ["KINDS", "OPTIONS", "CheckerError", "check", "first_number", "normalise", "program_of", "validate"]


# --- the checks ----------------------------------------------------------------------------------

def normalise(text: str) -> str:
    """HotpotQA's `normalize_answer` (from SQuAD's evaluation): lower case, no punctuation, no articles,
    single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def first_number(text: str) -> float | None:
    m = _NUMBER.search(text.replace("\u2212", "-"))
    if not m:
        return None
    try:
        v = float(m.group().replace(",", ""))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _regex_match(pattern: str, flags: str, answer: str) -> bool:  # runs in the grading worker
    return re.fullmatch(pattern, answer.strip(), re.I if flags == "i" else 0) is not None


_CODE_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.S)


def program_of(answer: str) -> str:
    """The answer's program: its last fenced code block (```python), else the whole answer."""
    blocks = _CODE_BLOCK.findall(answer)
    return blocks[-1] if blocks else answer


def check(config: dict, answer: str | None, accepted: list[str], *, reward: float | None = None,
          judge: Callable[[str, list[str]], bool | None] | None = None,
          timeout: float = DEFAULT_TIMEOUT) -> bool | None:
    """Whether `answer` is right by the checker `config` (validated), against `accepted` reference answers
    (`reward`: the outcome the file carried)."""
    kind = config.get("kind", "math")
    if kind == "file":
        return None if reward is None else reward >= config.get("threshold", 1)
    if answer is None or not answer.strip():
        return None
    if kind == "unit_tests":
        from activelearn.grading import sandbox

        limits = sandbox.Limits(**{k: config[k] for k in ("cpu_seconds", "memory_mb", "wall_seconds", "processes")
                                   if k in config})
        result = sandbox.run_python(program_of(answer) + "\n\n" + config["tests"], limits)
        return None if result.timed_out else result.ok
    if kind == "judge":
        if judge is None:
            raise CheckerError("outcome_checker.connection", "the judge checker needs its policy connection")
        return judge(answer, accepted)
    if kind == "regex":
        try:
            return run_in_worker(_regex_match, config["pattern"], config.get("flags", ""), answer, timeout=timeout)
        except (GradingTimeout, GradingWorkerError):
            return None
    if not accepted:
        return None
    if kind == "exact":
        return answer.strip() in {a.strip() for a in accepted}
    if kind == "normalised":
        return normalise(answer) in {normalise(a) for a in accepted}
    if kind == "numeric":
        got = first_number(answer)
        refs = [v for v in map(first_number, accepted) if v is not None]
        if got is None or not refs:
            return None
        rel, abs_ = config.get("rel_tol", 1e-6), config.get("abs_tol", 0.0)
        return any(math.isclose(got, v, rel_tol=rel, abs_tol=abs_) for v in refs)
    verdicts = [answers_match(answer, a, timeout=timeout) for a in accepted]  # math
    return True if True in verdicts else (None if None in verdicts else False)
