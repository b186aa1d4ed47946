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


def pass_key(*parts: str) -> str:
    return _sha("pass", *parts)
