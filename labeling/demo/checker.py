"""A program that checks every step of a demo solution: the oracle's step labels for the demo domain.

It reads only text: the problem, the candidate's steps, and correct solutions of the same problem
(which say what numbers a correct solution reaches; `known_values`). A step is

- -1 when one of its equations is false (a slip in a calculation), or it uses or reaches a number
  that neither the problem nor any correct solution holds (a misread quantity, a wrong operation,
  a skipped term, or a value carried forward from an earlier error);
- +1 when it states at least one true claim in known numbers (an equation, a value, the answer);
- 0 when it claims nothing (a plan, a restatement of the task): it adds nothing.

Equations are the `=` chains inside `$...$`; a side with a letter in it (`5x`) is not evaluated,
but its numbers are checked. The final answer (after `# Answer`) counts as a claimed value.
"""
import ast
import re
from fractions import Fraction

_ANSWER = re.compile(r"\s*# Answer\s*")  # PRM800K's last step: `# Answer`, then the answer alone
_MATH = re.compile(r"\$([^$]+)\$")
_NUMBER = re.compile(r"\d+")
_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_LETTER = re.compile(r"[A-Za-z]")
SMALL = frozenset(Fraction(v) for v in (0, 1, 2, 100))  # constants any solution may bring in


def _python(side: str) -> str:
    s = side.replace("\\times", "*").replace("\\cdot", "*").replace("\\div", "/")
    s = s.replace("\\left", "").replace("\\right", "").replace("{", "(").replace("}", ")") if "\\frac" not in s else s
    while "\\frac" in s:
        s2 = _FRAC.sub(r"((\1)/(\2))", s)
        if s2 == s:
            break
        s = s2
    return s.replace("{", "(").replace("}", ")").strip()


def evaluate(side: str) -> Fraction | None:
    """The exact value of a numeric LaTeX expression (+, -, times, cdot, div, frac, brackets); None
    for anything else (a letter, a word, a malformed expression)."""
    expr = _python(side)
    if not expr or _LETTER.search(expr.replace("\\", "")):
        return None
    try:
        return _value(ast.parse(expr, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
        return None


def _value(node) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _value(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        a, b = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return a / b
    raise ValueError("not arithmetic")


def _segments(step: str) -> tuple[list[str], str | None]:
    body, answer = (_ANSWER.split(step, maxsplit=1) + [None])[:2]
    return _MATH.findall(body), answer


def numbers(text: str) -> set[Fraction]:
    """Every value a text states: its integer literals and the value of each evaluable side."""
    out = {Fraction(n) for n in _NUMBER.findall(text)}
    segments, answer = _segments(text)
    for seg in segments + ([answer] if answer else []):
        for side in seg.split("="):
            v = evaluate(side)
            if v is not None:
                out |= {v, -v}
    return out


def known_values(problem: str, correct_solutions: list[list[str]]) -> frozenset[Fraction]:
    """The numbers a sound solution may use: the problem's, and every value some correct solution states."""
    known = set(SMALL) | numbers(problem)
    for steps in correct_solutions:
        for step in steps:
            known |= numbers(step)
    return frozenset(known)


def check_step(step: str, known: frozenset[Fraction]) -> tuple[int, str]:
    """(rating, why) for one step."""
    segments, answer = _segments(step)
    claims = 0
    for seg in segments:
        values = []
        for side in seg.split("="):
            for n in _NUMBER.findall(side):
                if Fraction(n) not in known:
                    return -1, f"uses {n}, which no correct solution has"
            v = evaluate(side)
            if v is not None:
                values.append(v)
                if v not in known and -v not in known:
                    return -1, f"reaches {v}, which no correct solution does"
        if len(set(values)) > 1:
            return -1, f"false equation: ${seg}$"
        claims += bool(_NUMBER.search(seg))
    if answer is not None:
        v = evaluate(answer.strip())
        if v is None or v not in known:
            return -1, f"final answer {answer.strip()!r} is no value a correct solution reaches"
        claims += 1
    return (1, "sound") if claims else (0, "claims nothing")


def check(steps: list[str], known: frozenset[Fraction]) -> list[int]:
    """The rating of every step (+1, 0, -1), each judged on its own."""
    return [check_step(s, known)[0] for s in steps]


def first_error(ratings: list[int]) -> int | None:
    return next((i for i, r in enumerate(ratings) if r == -1), None)
