"""One judge answer, as the math prompt (activelearn.labellers.judges) and the trajectory prompt
(activelearn.labellers.trajectory_judge) both read it."""
from dataclasses import dataclass, field


@dataclass
class Verdict:
    """The earliest wrong step (-1: none), or malformed with the reason (`error`); per-step verdicts if given
    (`steps`: right or wrong, the math prompt's; `ratings`: +1 / 0 / -1 per step, the trajectory prompt's), the
    outcome of the whole trace (trajectory prompt), and the reasoning (`rationale`)."""

    first_error: int | None
    malformed: bool
    steps: dict[int, bool] = field(default_factory=dict)
    rationale: str = ""
    ratings: list[int] | None = None
    outcome: int | None = None
    error: str = ""
    prompt: str = ""
