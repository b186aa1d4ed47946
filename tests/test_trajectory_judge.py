"""The judge's trajectory prompt (issue 28, item 4): a trace shown with roles, tool calls and results, its
assistant turns numbered as steps; a reply read strictly (recorded replies below, good and bad); the judge's
per-step verdicts, first wrong step, outcome and rationale become automatic labels. Against a real server:
`transformers serve` (tests/policy_server.py) and a loopback server that answers what a judge would."""
import json
from pathlib import Path

import pytest

from activelearn.labellers import runs, trajectory_judge
from activelearn.labellers.trajectory_judge import parse
from activelearn.policy import connection_writes
from labeling.demo import agent
from labeling.imports import files as importers
from labeling.models import Solution, StepLabels

APB = Path(__file__).parent / "fixtures" / "agentprocessbench"
TRACES = APB / "hotpotqa.jsonl"
FIRST = "searchR1_hotpotqa:0:0"  # four assistant turns: three searches, then `<answer>Adelaide</answer>` (wrong)

# Replies as judges write them (the first from a Qwen3 model: its thinking first, then the form in bold).
GOOD = """<think>The agent searches three times. Step 3 answers Adelaide but Marion is the city.</think>
**Step 0:** +1
**Step 1:** +1
**Step 2:** 0
**Step 3:** -1
**First wrong step:** 3
**Outcome:** -1
**Rationale:** The school (Westminster School) is in Marion, South Australia; the search results say so, but
step 3 answers Adelaide, the metropolitan area, not the city the question asks for."""
ALL_RIGHT = "Step 0: +1\nStep 1: +1\nFirst wrong step: -1\nOutcome: +1\nRationale: Both calls are right."
REFUSAL = "I'm sorry, but I can't help with evaluating this conversation."
MATH_FORM = "Step 0: correct\nStep 1: wrong\n\\boxed{1}"


def test_a_well_formed_reply_reads_as_verdicts_first_error_outcome_and_rationale():
    v = parse(GOOD, 4)
    assert not v.malformed and v.error == ""
    assert v.ratings == [1, 1, 0, -1] and v.first_error == 3 and v.outcome == -1
    assert v.rationale.startswith("The school (Westminster School)") and "Adelaide" in v.rationale
    assert v.prompt == trajectory_judge.PROMPT_VERSION
    v = parse(ALL_RIGHT, 2)
    assert v.ratings == [1, 1] and v.first_error == -1 and v.outcome == 1
    assert parse(ALL_RIGHT.replace("-1\nOutcome", "none\nOutcome"), 2).first_error == -1
    assert parse(GOOD.replace("**First wrong step:** 3", "First wrong step: Step 3"), 4).first_error == 3


@pytest.mark.parametrize(("reply", "n", "error"), [
    (REFUSAL, 2, "no per-step verdicts"),
    ("", 2, "an empty answer"),
    (MATH_FORM, 2, "step 0: 'correct' is not +1, 0 or -1"),
    (ALL_RIGHT, 3, "no verdict for step(s) 2"),
    (ALL_RIGHT, 1, "step 1 does not exist: the trace has steps 0 to 0"),
    (ALL_RIGHT.replace("Step 1: +1", "Step 0: +1"), 2, "step 0 is judged twice"),
    (ALL_RIGHT.replace("Step 1: +1", "Step 1: +2"), 2, "step 1: '+2' is not +1, 0 or -1"),
    (ALL_RIGHT.replace("Step 1: +1", "Step 1: -1"), 2, "first wrong step -1 contradicts the verdicts (their first "
                                                        "-1 is step 1)"),
    (ALL_RIGHT.replace("First wrong step: -1", "First wrong step: the second"), 2, "is not a step index"),
    (ALL_RIGHT.replace("First wrong step: -1\n", ""), 2, "no `First wrong step:` line"),
    (ALL_RIGHT.replace("Outcome: +1\n", ""), 2, "no `Outcome:` line"),
    (ALL_RIGHT.replace("Outcome: +1", "Outcome: yes"), 2, "outcome 'yes' is not +1, 0 or -1"),
    (ALL_RIGHT.replace("Rationale: Both calls are right.", ""), 2, "no `Rationale:`"),
    (ALL_RIGHT + "\nOutcome: -1", 2, None),  # after `Rationale:` is the rationale's own text
])
def test_a_reply_that_does_not_parse_is_malformed_with_the_reason(reply, n, error):
    v = parse(reply, n)
    if error is None:
        assert not v.malformed and v.outcome == 1 and v.rationale.endswith("Outcome: -1")
        return
    assert v.malformed and v.ratings is None and v.first_error is None and error in v.error
    assert v.rationale == reply[:2000]  # what came back is kept, to be read


@pytest.mark.django_db
def test_the_transcript_shows_roles_tool_calls_and_results_and_numbers_the_assistant_turns(monkeypatch):
    monkeypatch.setattr(trajectory_judge, "CONTEXT_CHARS", 1000)  # these search results are about 2,300
    importers.import_solutions(TRACES)
    sol = Solution.objects.get(source_id=FIRST)
    system, user = trajectory_judge.messages(sol)
    assert system["role"] == "system" and system["content"] == trajectory_judge.INSTRUCTION
    text = user["content"]
    assert text.startswith(f"# Task\n\n{sol.problem.text}")
    assert [f"## Step {k} (assistant)" in text for k in range(5)] == [True] * 4 + [False]
    assert text.index("## system") < text.index("## user") < text.index("## Step 0") < text.index("## tool · search")
    assert "Tool call `search`:\n```json\n{\n  \"query_list\": [" in text  # the arguments pretty-printed
    assert "<answer>Adelaide</answer>" in text and text.endswith(trajectory_judge.ASK)
    # a search result longer than the context limit keeps its head and tail
    long = max(sol.extra["trajectory"]["messages"], key=lambda m: len(m.get("content") or ""))
    assert len(long["content"]) > trajectory_judge.CONTEXT_CHARS and "characters left out …]" in text
    assert long["content"][:100] in text and long["content"][-100:] in text


def _run_over(tmp_path, records, key, params):
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in records))
    importers.import_solutions(p)
    run = runs.start_run(key, "judge", params, {})
    runs.run_chunk(run, run.params["solution_ids"])
    run.refresh_from_db()
    return run, {lab.solution.source_id: lab for lab in StepLabels.objects.filter(run=run).select_related("solution")}


@pytest.mark.django_db
def test_the_demo_judge_labels_demo_agent_traces_through_the_prompt_form_and_refuses_others(tmp_path):
    records = [rec for rec, _ in agent.traces(n_problems=4, n_solutions=3, seed=3)]
    records.append(json.loads(TRACES.read_text().splitlines()[0]))  # no demo truth: the demo judge cannot tell
    run, labels = _run_over(tmp_path, records, "demo-traces", {"connection": "demo", "attempts": 1})
    assert run.params["trace_prompt"] == trajectory_judge.PROMPT_VERSION and len(labels) == len(records)
    refused = labels.pop(FIRST)
    assert refused.malformed and refused.hard is None and "no per-step verdicts" in refused.detail["errors"][0]
    readable = [lab for lab in labels.values() if not lab.malformed]
    assert readable
    right = 0
    for lab in readable:
        meta = lab.solution.extra["trajectory"]["meta"]
        assert len(lab.hard) == lab.n_steps and set(lab.hard) <= {-1, 0, 1}
        assert lab.first_error == next((k for k, r in enumerate(lab.hard) if r == -1), -1)
        assert lab.detail["final_label"] in (-1, 1) and lab.detail["rationale"]
        assert lab.detail["prompt"] == trajectory_judge.PROMPT_VERSION
        assert lab.detail["verdicts"] == {str(k): r for k, r in enumerate(lab.hard)}
        right += lab.first_error == (meta["first_error"] if meta["first_error"] is not None else -1)
    assert right >= len(readable) // 2  # the demo judge is right most of the time


@pytest.mark.django_db
def test_a_judge_server_reply_becomes_the_trace_labels_and_the_prompt_is_the_trajectory_one(tmp_path, recorders):
    srv = recorders()
    srv.text = GOOD
    connection_writes.create("trace-judge", {"base_url": srv.base_url, "model": "judge-m", "endpoint": "chat",
                                             "max_tokens": 512})
    record = json.loads(TRACES.read_text().splitlines()[0])
    run, labels = _run_over(tmp_path, [record], "served-traces", {"connection": "trace-judge", "attempts": 1})
    lab = labels[FIRST]
    assert not lab.malformed and lab.hard == [1, 1, 0, -1] and lab.first_error == 3
    assert lab.detail["final_label"] == -1 and lab.detail["rationale"].startswith("The school")
    assert run.requests == 1 and run.model == "judge-m"
    (body,) = srv.bodies
    system, user = body["messages"]
    assert system["content"] == trajectory_judge.INSTRUCTION and "## Step 3 (assistant)" in user["content"]
    assert "## tool · search" in user["content"] and user["content"].endswith(trajectory_judge.ASK)
    # the same server on a math solution is asked the math prompt (the choice follows the solution)
    srv.text = "\\boxed{-1}"
    from labeling.demo.seed import seed_problems

    seed_problems(n_problems=1, n_solutions=1)
    ids = list(Solution.objects.exclude(source_id=FIRST).values_list("id", flat=True))
    Solution.objects.filter(id__in=ids).update(is_screening=False)  # the demo seeds it as a screening item
    math = runs.start_run("served-math", "judge", {"connection": "trace-judge"}, {"ids": ids})
    assert runs.run_chunk(math, math.params["solution_ids"]) == 1
    assert "# Problem" in srv.bodies[-1]["messages"][1]["content"]
    assert StepLabels.objects.get(run=math).detail["prompt"] == "stepwise-judge@1"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_model_server_is_asked_the_trajectory_prompt_and_its_nonsense_is_never_a_label(tmp_path,
                                                                                             tmp_path_factory):
    """`transformers serve` on a micro model: its text is nonsense, so each answer is malformed with the reason;
    the requests, the chat prompt of a whole trace and the accounting are real."""
    from labeling.demo.problems import generate

    from .policy_server import PolicyServer, build_model

    corpus = [t for p in generate(6, 2, seed=1) for t in (p.text, *(s for sol in p.solutions for s in sol.steps))]
    srv = PolicyServer(build_model(tmp_path_factory.mktemp("trace-judge-lm"), corpus, max_positions=8192),
                       tmp_path_factory.mktemp("trace-judge-log") / "serve.log").start()
    try:
        connection_writes.create("serve-judge", {"base_url": srv.base_url, "model": str(srv.model_dir),
                                                 "max_tokens": 16, "endpoint": "chat"})
        records = [json.loads(line) for line in TRACES.read_text().splitlines()[:2]]
        run, labels = _run_over(tmp_path, records, "serve-traces", {"connection": "serve-judge", "attempts": 2})
        assert len(labels) == 2 and run.requests == 4 and run.prompt_tokens > 1000 and run.completion_tokens > 0
        for lab in labels.values():
            assert lab.malformed and lab.hard is None and lab.first_error is None and lab.detail["malformed"] == 2
            assert lab.detail["prompt"] == trajectory_judge.PROMPT_VERSION and len(lab.detail["errors"]) == 2
            assert all(e for e in lab.detail["errors"])
    finally:
        srv.kill()


def test_the_prompt_in_the_docs_is_the_prompt_asked():
    doc = (Path(__file__).parent.parent / "docs" / "agent-trajectories.md").read_text()
    assert f"```text\n{trajectory_judge.INSTRUCTION}\n```" in doc and f"```text\n{trajectory_judge.ASK}\n```" in doc
    assert f"`{trajectory_judge.PROMPT_VERSION}`" in doc
