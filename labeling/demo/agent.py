"""The demo agent domain (issue 28, item 7): the demo's problems solved by an agent that calls a calculator
tool, as traces in the OpenAI chat shape (labeling.formats.trajectories imports them as any trace), and a
program that labels every assistant turn from the text alone. Pure: no database.

Each demo solution (labeling.demo.problems) becomes a conversation: the agent asks the calculator for each
step's computation (`{"expression": "33 * 23"}`), reads the result, and states the step, asking for the next
computation in the same turn. Its mistakes are the ones agents make with tools:

- `wrong_arguments`: it passes the calculator a number misread from the task (the demo's `misread` slip); the
  tool computes faithfully, and the wrong value carries forward;
- `misread_result`: the call is right, but the agent states another value than the tool returned (the demo's
  `arithmetic` slip, with the call made);
- `unchecked`: it states a computation without calling the tool, and gets it wrong (an `arithmetic` slip,
  no call).

`label_turns` is the checker: per assistant turn -1 when its call passes a number that neither the task nor a
correct solution holds, when it states a value other than the tool's last result for that expression, or when
one of its equations is false or uses an unknown number (labeling.demo.checker); +1 when it states or asks
something right; 0 when it does neither. `first_error` is where the generator slipped: the checker finds it.
"""
import ast
import json
import random
import re
from fractions import Fraction

from labeling.demo import checker
from labeling.demo import sampling as demo_sampling
from labeling.demo.problems import (
    SLIP_KINDS,
    DemoProblem,
    DemoSolution,
    as_num,
    generate,
    known_values,
    spec_of,
    tex,
    write_correct,
    write_wrong,
)

DATA_SOURCE = "stepwise_demo_agent"
MODEL = "stepwise-demo-agent"
ERRORS = ("wrong_arguments", "misread_result", "unchecked")
SYSTEM = ("You are a careful assistant. Use the calculator tool for every computation, then say what it gives. "
          "End with `# Answer` and the final answer alone.")
TOOLS = [{"type": "function", "function": {
    "name": "calculator", "description": "Evaluates an arithmetic expression exactly (+, -, *, /, parentheses).",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}]
_MATH = re.compile(r"\$([^$]+)\$")


def _computation(step: str) -> tuple[str, str, str] | None:
    """(LaTeX expression, its stated value, the `expr = value` text) of the step's last numeric equation."""
    for seg in reversed(_MATH.findall(step)):
        parts = [p.strip() for p in seg.split("=")]
        if len(parts) >= 2 and checker.evaluate(parts[-2]) is not None and checker.evaluate(parts[-1]) is not None:
            return parts[-2], parts[-1], f"{parts[-2]} = {parts[-1]}"
    return None


def to_expression(latex: str) -> str:
    """A LaTeX expression as the calculator takes it: `\\frac{a}{b}` as a / b, `\\times` and `\\cdot` as *."""
    return ast.unparse(ast.parse(checker._python(latex), mode="eval"))


def result_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _call(k: int, expression: str) -> dict:
    return {"id": f"call_{k}", "type": "function",
            "function": {"name": "calculator", "arguments": f'{{"expression": "{expression}"}}'}}


def trace(problem: DemoProblem, solution: DemoSolution, query: int, sample: int, rng: random.Random) -> dict:
    """One solution as an agent's trace record (AgentProcessBench's keys), with where it first went wrong
    (`meta.first_error`: the index among assistant turns, None for a sound trace) and how (`meta.error`)."""
    error = None
    if solution.kind == "misread":
        error = "wrong_arguments"
    elif solution.kind == "arithmetic":
        error = rng.choice(("misread_result", "unchecked"))
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": problem.text}]
    turn: dict = {"role": "assistant", "content": ""}
    first_error = None
    n_turn = 0

    def close(t: dict) -> None:
        nonlocal n_turn
        messages.append(t)
        n_turn += 1

    for k, step in enumerate(solution.steps):
        comp = _computation(step)
        slip = k == solution.first_error
        if comp is not None and not (slip and error == "unchecked"):
            latex, stated, _ = comp
            true_value = checker.evaluate(latex)
            turn.setdefault("tool_calls", []).append(_call(k, to_expression(latex)))
            if slip and error == "wrong_arguments" and first_error is None:
                first_error = n_turn
            close(turn)
            messages.append({"role": "tool", "tool_call_id": f"call_{k}", "name": "calculator",
                             "content": result_text(true_value)})
            turn = {"role": "assistant", "content": ""}
        if slip and error in ("misread_result", "unchecked") and first_error is None:
            first_error = n_turn
        turn["content"] = step
    close(turn)
    for t in messages:
        if t["role"] == "assistant" and not t.get("tool_calls"):
            t.pop("tool_calls", None)
    right = solution.is_correct
    return {"query_index": query, "sample_index": sample, "question": problem.text, "data_source": DATA_SOURCE,
            "ground_truth": {"target": [problem.answer]}, "answer_text": solution.final_answer,
            "messages": messages, "tools": TOOLS, "reward_info": {"reward": 1 if right else 0},
            "meta": {"llm_model": MODEL, "error": error, "first_error": first_error,
                     "demo_source_id": solution.source_id, "demo_problem": problem.source_id}}


def _expression(call: dict) -> str:
    try:
        expr = json.loads(call["function"]["arguments"]).get("expression")
    except (ValueError, AttributeError):
        return ""
    return expr if isinstance(expr, str) else ""


def _value(expr: str) -> Fraction | None:
    try:
        return checker._value(ast.parse(expr, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
        return None


def _call_verdict(expr: str, known: frozenset) -> int:
    """A calculator call is right when every number it passes, and what it computes, is one a correct solution
    holds: a misread number from the task is not."""
    value = _value(expr)
    used = {Fraction(int(n)) for n in re.findall(r"\d+", expr)}
    if value is None or not used <= known or (value not in known and -value not in known):
        return -1
    return 1


def label_turns(record: dict, known: frozenset) -> list[int]:
    """The checker: -1 / 0 / +1 per assistant turn, from the messages and the known numbers alone."""
    labels = []
    expr_of_call: dict[str, str] = {}
    results: dict[str, Fraction | None] = {}  # expression -> what the calculator returned for it
    for m in record["messages"]:
        if m["role"] == "tool":
            expr = expr_of_call.get(m.get("tool_call_id"))
            if expr is not None:
                results[expr] = _value(str(m.get("content", "")))
            continue
        if m["role"] != "assistant":
            continue
        verdicts = []
        content = m.get("content") or ""
        comp = _computation(content)
        if comp is not None and to_expression(comp[0]) in results:  # the result read back: as the tool said?
            verdicts.append(1 if checker.evaluate(comp[1]) == results.pop(to_expression(comp[0])) else -1)
        if content.strip():
            verdicts.append(checker.check_step(content, known)[0])
        for call in m.get("tool_calls") or []:
            expr = _expression(call)
            expr_of_call[call.get("id", "")] = expr
            verdicts.append(_call_verdict(expr, known))
        labels.append(-1 if -1 in verdicts else (1 if 1 in verdicts else 0))
    return labels


def traces(n_problems: int = 12, n_solutions: int = 4, seed: int = 0) -> list[tuple[dict, list[int]]]:
    """The demo agent's traces and the checker's labels of each: the demo's sound solutions and those whose
    slip an agent makes with a tool (a misread number, a false computation)."""
    rng = random.Random(f"agent:{seed}")
    out = []
    for q, problem in enumerate(generate(n_problems, n_solutions, seed)):
        family, spec = spec_of(problem.origin)
        known = known_values(family, spec)
        for s, solution in enumerate(problem.solutions):
            if solution.kind not in (None, "misread", "arithmetic"):
                continue
            rec = trace(problem, solution, q, s, rng)
            out.append((rec, label_turns(rec, known)))
    return out




AGENT_SLIPS = ("arithmetic", "misread")  # the demo's slips an agent makes with a tool (trace: as which error)


def sample_trace(origin: dict, text: str, seed: str, *, query=0, sample=0, greedy: bool = False) -> dict:
    """Sample `seed` of the stored demo problem `origin` (whose text is `text`) as the agent writes it: the built-in
    policy's traces (activelearn/policy/demo.py). As often as the problem's own difficulty says
    (labeling.demo.sampling.wrong_share_of) it makes one of the slips an agent makes with a tool; else, and at
    `greedy`, it is right. The same seed gives the same trace. No `reward_info`: the project's outcome checker
    grades it, as it would a real agent's."""
    family, spec = spec_of(origin)
    rng = random.Random(f"agent-sample:{seed}")
    w = None
    if not greedy and rng.random() < demo_sampling.wrong_share_of(spec):
        kind = rng.choices(AGENT_SLIPS, weights=[SLIP_KINDS[k] for k in AGENT_SLIPS])[0]
        w = write_wrong(family, spec, seed, kind)
        w = w if w is not None and w.made in AGENT_SLIPS else None
    if w is None:
        w = write_correct(family, spec, seed)
    problem = DemoProblem(text, tex(spec.answer), "", family.subject, spec.level, "", origin=origin)
    solution = DemoSolution(w.steps, w.answer, w.answer_value == as_num(spec.answer), w.first_error, "", w.made)
    rec = trace(problem, solution, query, sample, rng)
    del rec["reward_info"]
    rec["meta"] = {k: v for k, v in rec["meta"].items() if v != ""}  # no demo source ids: a fresh sample
    return rec
