"""What a PRM reads of an agent trace: each step is an assistant turn, preceded by the context since the turn
before (tool results, the task: `Solution.extra["step_context"]`, its most recent characters, made at import
by labeling.formats.trajectories), so that the step token comes after each turn with the context in between:
[problem] [context 1] turn 1 [STEP] [context 2] turn 2 [STEP] ... Every rated step keeps its token; where a
trace is too long, the encoder cuts every piece to a common length (activelearn.prm.encoding). Other
solutions have no context and read as before."""


def with_context(steps: list[str], contexts: list[str] | None) -> list[str]:
    if not contexts:
        return steps
    return [f"{c}\n\n{s}" if k < len(contexts) and (c := contexts[k]) else s for k, s in enumerate(steps)]
