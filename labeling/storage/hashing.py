"""Content hashes that identify problems, solutions and passes across imports."""
import hashlib

import orjson


def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


def problem_hash(text: str) -> str:
    # A problem is its statement: the same text from two sources is one problem.
    return _sha("problem", text)


def solution_hash(problem_key: str, steps: list[str], final_answer: str | None) -> str:
    return _sha("solution", problem_key, orjson.dumps(steps), final_answer or "")


def pass_identity(labeler: str, timestamp: str, problem_key: str, solution_key: str | None) -> str:
    """A pass's identity, from exactly what its PRM800K record carries: who labelled (the labeller's UUID),
    when (the record's `timestamp` as written), the problem and the solution (their content hashes).

    Every path that creates a pass (a submit, an import, the demo) keys it by this, so a pass labelled
    here, exported and imported again (into this instance or another) is recognised as the same pass.
    """
    return _sha("pass", labeler, timestamp, problem_key, solution_key or "")
