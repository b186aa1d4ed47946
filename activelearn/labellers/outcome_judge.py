"""The `judge` outcome checker: a model over a policy connection says whether a final answer is right, given
the accepted answers. Its answer must end with a line `VERDICT: CORRECT` or `VERDICT: INCORRECT`; anything
else is no verdict (None: the solution stays ungraded), never a guess."""
import re

from activelearn.policy import connection
from activelearn.policy.client import PolicyClient
from activelearn.policy.samples import Usage

PROMPT = ("You grade a final answer against the accepted answers of a task. Reply with one line: "
          "VERDICT: CORRECT or VERDICT: INCORRECT.\n\nAccepted answers: {accepted}\nFinal answer: {answer}")
_VERDICT = re.compile(r"VERDICT:\s*(CORRECT|INCORRECT)\s*$", re.I)


def parse(text: str) -> bool | None:
    m = _VERDICT.search(text.strip())
    return None if m is None else m.group(1).upper() == "CORRECT"


class OutcomeJudge:
    """A callable `(answer, accepted) -> bool | None` for activelearn.grading.checkers.check; `usage` adds up."""

    def __init__(self, name: str, project: int | None = None):
        self.conn = connection.resolve(name, project=project)
        self.client = PolicyClient(self.conn)
        self.usage = Usage()

    def _prompt(self, answer: str, accepted: list[str]):
        text = PROMPT.format(accepted=" | ".join(accepted) or "(none given)", answer=answer[:4000])
        return [{"role": "user", "content": text}] if self.conn.endpoint == "chat" else text

    def __call__(self, answer: str, accepted: list[str]) -> bool | None:
        (sampled,) = self.client.request(self._prompt(answer, accepted), 1, 0, self.usage)[:1]
        return parse(sampled.text)
