"""The demo agent domain (issue 28, item 7): the demo's problems solved by a calculator agent as tool-call
traces, its mistakes (wrong arguments, a misread result, an unchecked computation), a checker that labels
every assistant turn from the text alone and finds where the generator slipped, and seed_demo's third
project."""
import io

import pytest
from django.core.management import call_command

from activelearn.grading.outcomes import grade_outcomes
from labeling.demo import agent
from labeling.demo.agent_seed import RUN_KEY
from labeling.formats import trajectories
from labeling.models import Project, QueueEntry, Solution, StepLabels


def test_the_checker_finds_where_the_agent_went_wrong_and_nothing_in_sound_traces():
    pairs = agent.traces(40, 4, seed=3)
    kinds = {}
    for rec, labels in pairs:
        item = trajectories.parse_trace(rec)  # every trace is a valid trace
        assert len(labels) == len(item.solution.steps)
        first = next((i for i, v in enumerate(labels) if v == -1), None)
        assert first == rec["meta"]["first_error"], rec["meta"]
        kinds[rec["meta"]["error"]] = kinds.get(rec["meta"]["error"], 0) + 1
        assert rec["reward_info"]["reward"] == (1 if rec["meta"]["error"] is None else 0)
    assert set(kinds) == {None, *agent.ERRORS} and all(n >= 3 for n in kinds.values()), kinds


def test_each_mistake_reads_as_an_agent_makes_it():
    by_kind = {rec["meta"]["error"]: rec for rec, _ in agent.traces(30, 4, seed=0)}
    misread = by_kind["misread_result"]
    k = trajectories.step_messages(misread["messages"])[misread["meta"]["first_error"]]
    said, tool = misread["messages"][k]["content"], misread["messages"][k - 1]
    assert tool["role"] == "tool" and f"= {tool['content']}$" not in said  # the tool said one thing, the agent another
    unchecked = by_kind["unchecked"]
    k = trajectories.step_messages(unchecked["messages"])[unchecked["meta"]["first_error"]]
    assert unchecked["messages"][k - 1]["role"] != "tool"  # no calculator result before it: it did not check
    wrong = by_kind["wrong_arguments"]
    k = trajectories.step_messages(wrong["messages"])[wrong["meta"]["first_error"]]
    assert wrong["messages"][k]["tool_calls"] and wrong["messages"][k + 1]["role"] == "tool"


@pytest.mark.django_db
def test_seed_demo_makes_the_agent_project_queued_and_labelled_once():
    out = io.StringIO()
    call_command("seed_demo", "--problems", "9", "--solutions", "4", "--password", "pw-demo-only-1", stdout=out)
    assert "Third project demo-agent" in out.getvalue()
    project = Project.objects.get(slug="demo-agent")
    traces = Solution.objects.filter(project=project)
    n = traces.count()
    assert n > 0 and all("step_messages" in s.extra for s in traces)
    assert QueueEntry.objects.filter(solution__project=project).count() == n
    labels = StepLabels.objects.filter(run__key=RUN_KEY, solution__project=project)
    assert labels.count() == n and all(len(x.hard) == x.n_steps for x in labels)
    assert labels.filter(first_error__gte=0).count() == traces.filter(answer_is_correct=False).count() > 0
    call_command("seed_demo", "--problems", "9", "--solutions", "4", "--password", "pw-demo-only-1",
                 stdout=io.StringIO())
    assert Solution.objects.filter(project=project).count() == n and labels.count() == n
    # the project's checker (numeric) agrees with the generator's outcomes
    counts = grade_outcomes(project, force=True)
    assert counts["graded"] == n
    for s in traces.all():
        assert s.answer_is_correct == (s.extra["trajectory"]["reward_info"]["reward"] == 1)
