"""What a policy returns for one problem: sampled texts, with what they cost."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sampled:
    """One sample: its text and why the server stopped (`stop`, or `length` at max_tokens)."""

    text: str
    finish_reason: str
    completion_tokens: int | None = None
    truth: dict | None = None  # what the demo policy knows of it (its first error): kept on the solution
    trace: dict | None = None  # an agent's trace (the chat shape of labeling.formats.trajectories), not a text


@dataclass
class Usage:
    """A client's accounting, summed over requests (the run adds it to its counters)."""

    requests: int = 0
    retries: int = 0
    failed_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    request_seconds: float = 0.0
    short_answers: int = 0  # requests answered with fewer choices than asked (the server ignores `n`)

    def add(self, other: "Usage") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class ProblemSamples:
    """The samples of one problem, by sample index, and what asking for them cost."""

    problem_id: int
    samples: dict[int, Sampled] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
