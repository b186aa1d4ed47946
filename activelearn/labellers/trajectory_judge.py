"""The judge's trajectory prompt (issue 28): an agent's trace shown as a transcript, its assistant turns
numbered as the steps to judge, and a reply in a fixed form: a verdict per step (+1 / 0 / -1), the first
wrong step, the outcome of the whole trace and a rationale. The judge labeller (activelearn.labellers.judges)
asks it of every solution that is a trace; docs/agent-trajectories.md shows the prompt.

A reply is read strictly: every step judged once, nothing else numbered, the first wrong step the same as
the per-step verdicts say, an outcome, a rationale. Anything else (a refusal, another format, a
contradiction) is malformed, with the reason in `error`, and is never a label. Pure: no database.
"""
import random
import re

from activelearn.labellers.verdicts import Verdict
from labeling.formats import trajectories
from labeling.models import Solution

PROMPT_VERSION = "stepwise-trajectory-judge@1"
# A message other than a step (a search result, a long system prompt) is cut to its head and tail; a step
# keeps more, since it is what is judged.
CONTEXT_CHARS = 4000
STEP_CHARS = 12000
TOOL_DESCRIPTION_CHARS = 300

INSTRUCTION = (
    "You check the work of an AI agent that carries out a task by calling tools over several turns. Read the "
    "task and the conversation. The agent's (assistant's) turns are numbered as steps from 0: those are what you "
    "judge. Every other message (the system prompt, the user, tool results) is context.\n\n"
    "Judge each step:\n"
    "+1: it is correct and moves the task forward;\n"
    "0: it is reasonable but does not help (a redundant call, a restatement);\n"
    "-1: it is wrong: a wrong tool or wrong arguments, a misread tool result, a claim the conversation does not "
    "support, or a final answer that is wrong or unsupported.\n\n"
    "Then judge the outcome of the whole conversation: +1 if the agent accomplished the task, -1 if it did not, "
    "0 if the conversation cannot tell.")
ASK = (
    "Reply in exactly this form, one line per step, and nothing after the rationale:\n\n"
    "Step 0: +1\n"
    "Step 1: -1\n"
    "...\n"
    "First wrong step: <the earliest step you judged -1, or -1 if there is none>\n"
    "Outcome: <+1, 0 or -1>\n"
    "Rationale: <a few sentences: why the first wrong step is wrong, or why every step holds>")


def is_trace(solution: Solution) -> bool:
    extra = solution.extra or {}
    return isinstance(extra.get("trajectory"), dict) and bool(extra.get("step_messages"))


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - 2 * half} characters left out …]\n{text[-half:]}"


def transcript(task: str, trace: dict, indexes: list[int]) -> str:
    """The task, the tools and the conversation as Markdown: each message under its role (a tool result under
    the tool's name), each assistant turn as `Step k` with its text and its tool calls (name, arguments as
    indented JSON)."""
    parts = [f"# Task\n\n{task.strip()}"]
    tools = [t["function"] for t in trace.get("tools") or [] if isinstance(t, dict)
             and isinstance(t.get("function"), dict) and isinstance(t["function"].get("name"), str)]
    if tools:
        parts.append("# Tools\n\n" + "\n".join(
            f"- `{f['name']}`" + (f": {_cut(f['description'].strip(), TOOL_DESCRIPTION_CHARS)}"
                                  if isinstance(f.get("description"), str) and f["description"].strip() else "")
            for f in tools))
    step_of = {i: k for k, i in enumerate(indexes)}
    lines = ["# Conversation"]
    for i, m in enumerate(trace.get("messages") or []):
        if not isinstance(m, dict):
            continue
        text = trajectories.message_text(m).strip()
        if i in step_of:
            body = [_cut(text, STEP_CHARS)] if text else []
            for name, args in trajectories.message_calls(m):
                body.append(f"Tool call `{name}`:\n```json\n{_cut(trajectories.pretty_arguments(args), STEP_CHARS)}"
                            "\n```")
            lines.append(f"## Step {step_of[i]} (assistant)\n\n" + ("\n\n".join(body) or "(an empty turn)"))
            continue
        name = m.get("name") if isinstance(m.get("name"), str) else ""
        lines.append(f"## {m.get('role')}{' · ' + name if name else ''}\n\n{_cut(text, CONTEXT_CHARS) or '(empty)'}")
    parts.append("\n\n".join(lines))
    return "\n\n".join(parts)


def messages(solution: Solution) -> list[dict]:
    """The chat messages asked of the judge (a completions server gets the same words as one text). The trace
    is shown inside the user message, never as chat turns of its own: the judge reads the conversation, it
    does not continue it."""
    extra = solution.extra
    body = transcript(solution.problem.text, extra["trajectory"], extra["step_messages"])
    return [{"role": "system", "content": INSTRUCTION},
            {"role": "user", "content": f"{body}\n\n# Your judgement\n\n{ASK}"}]


_THINKING = re.compile(r"<think>.*?</think>", re.S | re.I)
_STEP_LINE = re.compile(r"^[ \t*#-]*step\s+(\d+)\s*\**\s*:(.*)$", re.I | re.M)
_RATING = re.compile(r"^\**\s*([+\-\u2212]?1|[+\-]?0)\s*\**\s*$")
_FIRST = re.compile(r"^[ \t*]*first wrong step\s*\**\s*:(.*)$", re.I | re.M)
_OUTCOME = re.compile(r"^[ \t*]*outcome\s*\**\s*:(.*)$", re.I | re.M)
_RATIONALE = re.compile(r"^[ \t*]*rationale\s*\**\s*:(.*)", re.I | re.M | re.S)


def _rating(text: str) -> int | None:
    m = _RATING.match(text.strip())
    return None if m is None else int(m.group(1).replace("\u2212", "-"))


def _fail(text: str, error: str) -> Verdict:
    return Verdict(None, True, rationale=(text or "")[:2000], error=error, prompt=PROMPT_VERSION)


def parse(text: str, n_steps: int) -> Verdict:
    """The judge's reply read strictly (module docstring); `n_steps`: the trace's steps."""
    if not (text or "").strip():
        return _fail(text, "an empty answer")
    body = _THINKING.sub("", text)
    body = body[body.lower().rfind("</think>") + len("</think>"):] if "</think>" in body.lower() else body
    rationale = _RATIONALE.search(body)
    judged = body[:rationale.start()] if rationale else body
    found = _STEP_LINE.findall(judged)
    if not found:
        return _fail(text, "no per-step verdicts (`Step k: +1`, `0` or `-1`): a refusal or another form")
    ratings: dict[int, int] = {}
    for k, said in found:
        k, r = int(k), _rating(said)
        if r is None:
            return _fail(text, f"step {k}: {said.strip()[:40]!r} is not +1, 0 or -1")
        if k >= n_steps:
            return _fail(text, f"step {k} does not exist: the trace has steps 0 to {n_steps - 1}")
        if k in ratings:
            return _fail(text, f"step {k} is judged twice")
        ratings[k] = r
    missing = [str(k) for k in range(n_steps) if k not in ratings]
    if missing:
        return _fail(text, f"no verdict for step(s) {', '.join(missing[:20])}")
    firsts, outcomes = _FIRST.findall(judged), _OUTCOME.findall(judged)
    if len(firsts) != 1:
        return _fail(text, "no `First wrong step:` line" if not firsts else "more than one `First wrong step:` line")
    said = re.sub(r"^step\s+", "", firsts[0].strip().strip("*").strip(), flags=re.I)  # `Step 3` names step 3 too
    first = -1 if said.lower() in ("none", "-1", "\u22121") else int(said) if re.fullmatch(r"\d+", said) else None
    ordered = [ratings[k] for k in range(n_steps)]
    implied = next((k for k, r in enumerate(ordered) if r == -1), -1)
    if first is None:
        return _fail(text, f"first wrong step {said[:40]!r} is not a step index or -1")
    if first != implied:
        return _fail(text, f"first wrong step {first} contradicts the verdicts (their first -1 is "
                           f"{'step ' + str(implied) if implied >= 0 else 'none'})")
    if len(outcomes) != 1:
        return _fail(text, "no `Outcome:` line" if not outcomes else "more than one `Outcome:` line")
    outcome = _rating(outcomes[0])
    if outcome is None:
        return _fail(text, f"outcome {outcomes[0].strip()[:40]!r} is not +1, 0 or -1")
    why = rationale.group(1).lstrip("* \t").strip() if rationale else ""
    if not why:
        return _fail(text, "no `Rationale:`")
    return Verdict(first, False, rationale=why[:2000], ratings=ordered, outcome=outcome, prompt=PROMPT_VERSION)


def demo_answer(solution: Solution, seed: str, attempt: int, right: float, malformed: float) -> Verdict:
    """The demo judge on a trace: the demo agent's traces name their first wrong step (`meta.first_error`, the
    turn where the generator slipped); right `right` of the time, another step otherwise, and now and then a
    refusal. The reply is written in the prompt's form and read by `parse`, as a model's would be."""
    trace = solution.extra["trajectory"]
    n = len(solution.steps)
    meta = trace.get("meta") if isinstance(trace.get("meta"), dict) else {}
    rng = random.Random(f"{seed}:{solution.content_hash}:{attempt}")
    if "first_error" not in meta or rng.random() < malformed:
        return parse("I cannot judge this conversation.", n)
    k = meta["first_error"] if isinstance(meta["first_error"], int) and 0 <= meta["first_error"] < n else -1
    if rng.random() > right:
        k = rng.choice([i for i in range(-1, n) if i != k] or [k])
    lines = [f"Step {i}: {'+1' if k < 0 or i < k else '-1' if i == k else '0'}" for i in range(n)]
    reward = (trace.get("reward_info") or {}).get("reward") if isinstance(trace.get("reward_info"), dict) else None
    outcome = "+1" if k < 0 and reward != 0 else "-1"
    why = f"Step {k} goes wrong; what follows builds on it." if k >= 0 else "Every step holds."
    return parse("\n".join([*lines, f"First wrong step: {k}", f"Outcome: {outcome}", f"Rationale: {why}"]), n)
