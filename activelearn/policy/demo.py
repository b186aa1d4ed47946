"""The built-in demo policy: sampled solutions of the demo problems, with no model server at all.

It stands where a real policy would: for a stored demo problem (seeded by `seed_demo`, whose
`Problem.extra["demo"]` says how to rebuild it) it writes sample k the way a decent policy writes,
as one text with a step per line and `# Answer` at the end, and the text then goes through the
same splitting, deduplication, provenance and grading as a real model's. Most samples are right;
the rest make one slip of the kinds models make (labeling/demo/problems.py, SLIP_KINDS: a false
calculation, a misread number, a wrong operation, a skipped term, a false re-check), which later
steps carry forward,
and now and then a sample is cut off at max_tokens. Sample k of a problem in a run is the same
text every time it is asked for (it is seeded by the run, the problem and k), so a resumed run
reproduces exactly what it lost.

In a project whose items are agent traces (demo-agent: `writes_traces`) it writes what that project holds: the
calculator agent's trace of the problem (labeling/demo/agent.py), which the generation stores as an imported
trace is stored (activelearn/policy/splitting.py, `split_trace`).
"""
import random

from activelearn.policy.samples import ProblemSamples, Sampled
from labeling.demo import agent as demo_agent
from labeling.demo import problems as demo_problems
from labeling.demo import sampling as demo_sampling
from labeling.models import Problem, Solution

NAME = "stepwise-demo-policy"  # the `model` a demo sample's provenance names
TRUNCATED_SHARE = 0.02


def can_sample(problem: Problem) -> bool:
    return "demo" in (problem.extra or {})


def _text(problem: Problem, seed: str) -> tuple[str, dict]:
    """A sample's text, and what the demo knows of it: the index of its first wrong step (None: right)
    and the kind of slip it made (`demo_problems.SLIP_KINDS`). How often a problem's samples slip
    is the problem's own difficulty (`demo_sampling.wrong_share_of`)."""
    family, spec = demo_problems.spec_of(problem.extra["demo"])
    w = demo_sampling.sample(family, spec, seed)
    return "\n".join(w.steps), {"demo_first_error": w.first_error, "demo_kind": w.made}


def writes_traces(project_id: int) -> bool:
    """Whether the project's items are agent traces (then the demo policy writes traces there)."""
    return Solution.objects.filter(project_id=project_id, extra__has_key="trajectory").exists()


def _trace(problem: Problem, k: int, seed: str, greedy: bool) -> Sampled:
    rec = demo_agent.sample_trace(problem.extra["demo"], problem.text, seed, query=problem.pk, sample=k, greedy=greedy)
    text = "\n".join(m.get("content") or "" for m in rec["messages"] if m["role"] == "assistant")
    truth = {"demo_first_error": rec["meta"]["first_error"], "demo_kind": rec["meta"]["error"]}
    return Sampled(text, "stop", len(text) // 4, truth, trace=rec)


def sample(problem: Problem, indices: list[int], run_key: str, temperature: float = 1.0,
           traces: bool = False) -> ProblemSamples:
    """Samples `indices` of `problem` for the run `run_key` (`traces`: as the calculator agent's traces). At
    temperature 0 every sample is the same (the reference-style correct one), as greedy decoding would be."""
    out = ProblemSamples(problem.pk)
    if traces:
        for k in indices:
            out.samples[k] = _trace(problem, k, f"{run_key}:{problem.content_hash}:{k}", temperature <= 0)
        return out
    for k in indices:
        rng = random.Random(f"{run_key}:{problem.content_hash}:{k}")
        if temperature <= 0:
            family, spec = demo_problems.spec_of(problem.extra["demo"])
            w = demo_problems.write_correct(family, spec, f"{problem.content_hash}:greedy")
            text = "\n".join(w.steps)
            out.samples[k] = Sampled(text, "stop", len(text) // 4, {"demo_first_error": None, "demo_kind": None})
            continue
        text, truth = _text(problem, f"{run_key}:{problem.content_hash}:{k}")
        if rng.random() < TRUNCATED_SHARE:
            out.samples[k] = Sampled(text[: len(text) // 2], "length", len(text) // 8)
        else:
            out.samples[k] = Sampled(text, "stop", len(text) // 4, truth)
    return out
