"""Completers: k continuations of a solution's first steps, each reduced to the final answer it
reaches (what rollout labels grade).

- The demo completer knows each demo solution's first wrong step (`Solution.extra`): a prefix that
  holds it carries the wrong value forward, so no continuation reaches the right answer; from a
  prefix before it, a continuation reaches the right answer unless it makes a new slip
  (`SLIP`). It is the check that rollout labels recover a known first error.
- The policy completer continues the prefix on an OpenAI-compatible server (the completions
  endpoint: the prompt template, then the steps so far, one per line) and extracts each
  continuation's final answer with the grader's rules.
"""
import random

from activelearn.grading.answers import extract_final_answer
from activelearn.policy.client import PolicyClient, PolicyError
from activelearn.policy.connection import Connection
from activelearn.policy.samples import Usage
from labeling.models import Solution

SLIP = 0.15  # the demo: a continuation from a sound prefix still goes wrong this often


def demo_truth(solution: Solution) -> tuple[bool, int | None]:
    """(known, first error): whether the demo knows this solution, and its first wrong step."""
    extra = solution.extra or {}
    if "demo_first_error" not in extra:
        return False, None
    return True, extra["demo_first_error"]


def answer_survives(solution: Solution) -> bool:
    """A false re-check (the `aside` slip) is a wrong step after which the right answer still follows:
    rollouts cannot see it, as they cannot in real solutions."""
    return (solution.extra or {}).get("demo_kind") == "aside"


class DemoCompleter:
    name = "stepwise-demo-completer"

    def __init__(self, seed: str = ""):
        self.seed = seed

    def answers(self, solution: Solution, prefix_len: int, k: int) -> tuple[list[str | None], Usage]:
        known, first_error = demo_truth(solution)
        if not known:
            return [None] * k, Usage()
        right = solution.problem.ground_truth_answer or ""
        doomed = first_error is not None and first_error < prefix_len and not answer_survives(solution)
        rng = random.Random(f"{self.seed}:{solution.content_hash}:{prefix_len}")
        out = []
        for _ in range(k):
            if doomed or rng.random() < SLIP:
                out.append(f"({right})+1")  # a wrong answer: the right one plus one
            else:
                out.append(right)
        return out, Usage()


class PolicyCompleter:
    """Continuations from a policy server's completions endpoint."""

    def __init__(self, conn: Connection):
        if conn.endpoint != "completions":
            raise PolicyError("rollouts continue a solution's text: the connection needs endpoint=completions")
        self.conn = conn
        self.client = PolicyClient(conn)
        self.name = conn.model

    def answers(self, solution: Solution, prefix_len: int, k: int) -> tuple[list[str | None], Usage]:
        prompt = self.conn.template.render(solution.problem.text, self.conn.few_shot)
        prompt += "".join(step + "\n" for step in solution.steps[:prefix_len])
        usage = Usage()
        got, todo = [], k
        while todo:
            seed = self.conn.seed + prefix_len * 1000 + len(got) if self.conn.seed is not None else None
            batch = self.client.request(prompt, todo, seed, usage)[:todo]
            if not batch:
                raise PolicyError("the policy server answered no choices")
            got += batch
            todo -= len(batch)
        answers = []
        for s in got:
            # a continuation cut at max_tokens reached no answer
            answers.append(None if s.finish_reason == "length" else extract_final_answer(s.text.split("\n")))
        return answers, usage
