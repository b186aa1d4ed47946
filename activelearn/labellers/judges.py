"""Judges: a model asked for the earliest wrong step of a solution (ProcessBench's critic shape:
the index in \\boxed{}, -1 when every step is right), optionally with a verdict per step and its
reasoning. An answer that cannot be read is recorded as malformed (with why), never as a label.
A solution that is an agent trace is asked the trajectory prompt instead
(activelearn.labellers.trajectory_judge: a verdict per step, the first wrong step, the outcome).

The prompt is versioned like the policy's (PROMPT_VERSION): labels record the version they were
asked with.
"""
import random
import re

from activelearn.labellers import trajectory_judge
from activelearn.labellers.completers import demo_truth
from activelearn.labellers.verdicts import Verdict
from activelearn.policy.client import PolicyClient
from activelearn.policy.connection import Connection
from activelearn.policy.samples import Usage
from labeling.formats.solution_text import boxed_contents
from labeling.models import Solution

PROMPT_VERSION = "stepwise-judge@1"
INSTRUCTION = (
    "You check solutions to math problems step by step. Read the problem and the numbered steps. "
    "Find the earliest step that is wrong: a miscalculation, a wrong operation, a misread quantity, a claim "
    "that does not follow, or a final answer that the steps do not support. Steps are numbered from 0.")
VERDICTS = "Before your answer, write one line per step: `Step k: correct` or `Step k: wrong`."
ASK = ("End with the index of the earliest wrong step in \\boxed{}, for example \\boxed{2}, or \\boxed{-1} if "
       "every step is right.")
_VERDICT = re.compile(r"^\s*step\s+(\d+)\s*:\s*(correct|wrong|incorrect)\b", re.I | re.M)


def messages(problem: str, steps: list[str], verdicts: bool = False) -> list[dict]:
    body = "\n\n".join(f"<step {i}>\n{s}\n</step {i}>" for i, s in enumerate(steps))
    ask = f"{VERDICTS} {ASK}" if verdicts else ASK
    return [{"role": "system", "content": INSTRUCTION},
            {"role": "user", "content": f"# Problem\n\n{problem}\n\n# Solution\n\n{body}\n\n{ask}"}]


def parse(text: str, n_steps: int) -> Verdict:
    inside = boxed_contents(text or "")
    try:
        k = int(inside.strip()) if inside is not None else None
    except ValueError:
        k = None
    steps = {int(i): v.lower() == "correct" for i, v in _VERDICT.findall(text or "") if int(i) < n_steps}
    rationale = (text or "")[:2000]
    if k is None:
        return Verdict(None, True, steps, rationale, error="no step index in \\boxed{}", prompt=PROMPT_VERSION)
    if not -1 <= k < n_steps:
        return Verdict(None, True, steps, rationale, error=f"step {k} is not -1 or a step from 0 to {n_steps - 1}",
                       prompt=PROMPT_VERSION)
    return Verdict(k, False, steps, rationale, prompt=PROMPT_VERSION)


class DemoJudge:
    """Knows each demo solution's first wrong step, and errs as a mid-sized judge would: right most
    of the time, otherwise another step; now and then an answer without a box (malformed)."""

    name = "stepwise-demo-judge"
    RIGHT, MALFORMED = 0.75, 0.05

    def __init__(self, seed: str = ""):
        self.seed = seed

    def judge(self, solution: Solution, attempts: int, verdicts: bool = False) -> tuple[list[Verdict], Usage]:
        if trajectory_judge.is_trace(solution):
            return [trajectory_judge.demo_answer(solution, self.seed, a, self.RIGHT, self.MALFORMED)
                    for a in range(attempts)], Usage()
        known, truth = demo_truth(solution)
        n = len(solution.steps)
        out = []
        for a in range(attempts):
            rng = random.Random(f"{self.seed}:{solution.content_hash}:{a}")
            if not known or rng.random() < self.MALFORMED:
                out.append(parse("I cannot tell which step is wrong.", n))
                continue
            k = -1 if truth is None else truth
            if rng.random() > self.RIGHT:
                k = rng.choice([i for i in range(-1, n) if i != k] or [k])
            lines = "\n".join(f"Step {i}: {'wrong' if i == k else 'correct'}" for i in range(n if k < 0 else k + 1))
            out.append(parse(f"{lines}\n\\boxed{{{k}}}" if verdicts else f"\\boxed{{{k}}}", n))
        return out, Usage()


class PolicyJudge:
    """A judge model behind an OpenAI-compatible chat endpoint (the connection's sampling)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.client = PolicyClient(conn)
        self.name = conn.model

    def judge(self, solution: Solution, attempts: int, verdicts: bool = False) -> tuple[list[Verdict], Usage]:
        usage = Usage()
        trace = trajectory_judge.is_trace(solution)  # a trace gets the trajectory prompt, always with verdicts
        read = trajectory_judge.parse if trace else parse
        prompt = trajectory_judge.messages(solution) if trace else messages(solution.problem.text, solution.steps,
                                                                             verdicts)
        if self.conn.endpoint != "chat":  # a completions server: the same words as one text
            prompt = "\n\n".join(m["content"] for m in prompt) + "\n\n"
        got = []
        while len(got) < attempts:
            seed = self.conn.seed + len(got) if self.conn.seed is not None else None
            got += self.client.request(prompt, attempts - len(got), seed, usage)[:attempts - len(got)]
        n = len(solution.steps)
        version = trajectory_judge.PROMPT_VERSION if trace else PROMPT_VERSION
        return [read(s.text, n) if s.finish_reason != "length" else
                Verdict(None, True, {}, s.text[:2000], error="the answer was cut at max_tokens", prompt=version)
                for s in got], usage
