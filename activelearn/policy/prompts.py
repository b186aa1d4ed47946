"""Versioned prompt templates: how a problem is put to the policy, and how its answer is asked for.

A template never changes once released: a change is a new version, and every sample records
the version it was made with (and the text's hash), so a generation can be read later exactly
as it was asked. Both ask for PRM800K's shape: one step per line, then `# Answer` and the answer
on a line of its own, which the default splitting rule (`newline`) and the grader's answer
extraction read back.
"""
import hashlib
from dataclasses import dataclass

# Worked examples for few-shot prompts, written for Stepwise (not from any benchmark).
EXAMPLES = [
    ("What is the sum of the first five positive odd numbers?",
     ["The first five positive odd numbers are 1, 3, 5, 7 and 9.",
      "Their sum is $1 + 3 + 5 + 7 + 9 = 25$."], "25"),
    ("A rectangle has a perimeter of 30 cm and a length of 9 cm. What is its width, in cm?",
     ["The perimeter is $2(\\ell + w) = 30$, so $\\ell + w = 15$.",
      "With $\\ell = 9$, the width is $w = 15 - 9 = 6$."], "6"),
    ("Solve for $x$: $3x - 7 = 11$.",
     ["Adding 7 to both sides gives $3x = 18$.",
      "Dividing by 3 gives $x = 6$."], "6"),
]
INSTRUCTION = ("Solve the problem step by step. Write each step on its own line. When you are done, "
               "write a line `# Answer` and then the final answer alone on the next line.")


def _solution_text(steps: list[str], answer: str) -> str:
    return "\n".join(steps) + f"\n\n# Answer\n\n{answer}"


@dataclass(frozen=True)
class Template:
    name: str
    version: int
    endpoint: str  # what it renders: a completions prompt or chat messages

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, problem: str, few_shot: int = 0):
        """The prompt (text) or the messages (chat) for `problem`, with `few_shot` worked examples."""
        examples = EXAMPLES[:few_shot]
        if self.endpoint == "completions":
            shots = "".join(f"# Question\n\n{q}\n\n# Solution\n\n{_solution_text(s, a)}\n\n\n" for q, s, a in examples)
            return f"{shots}# Question\n\n{problem}\n\n# Solution\n\n"
        messages = [{"role": "system", "content": INSTRUCTION}]
        for q, s, a in examples:
            messages += [{"role": "user", "content": q}, {"role": "assistant", "content": _solution_text(s, a)}]
        return [*messages, {"role": "user", "content": problem}]

    def digest(self, few_shot: int = 0) -> str:
        """A short hash of what the template sends besides the problem: recorded with every sample."""
        rendered = self.render("\x00", few_shot)
        text = rendered if isinstance(rendered, str) else repr(rendered)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


TEMPLATES = {t.id: t for t in (
    Template("prm800k-steps", 1, "completions"),  # "# Question ... # Solution", a completion to continue
    Template("chat-steps", 1, "chat"),  # the instruction as a system message
)}
DEFAULT = {"completions": "prm800k-steps@1", "chat": "chat-steps@1"}
