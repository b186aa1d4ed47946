"""A PRM over agent traces (issue 28, item 5): each step is an assistant turn with the context since the turn
before in front of it (the step token after the turn), trained on people's passes and on automatic labels
(the demo agent's checker, AgentProcessBench's models), and scoring every assistant turn of a trace."""
import pytest

from activelearn.models import ModelVersion, SolutionScore
from activelearn.prm import registry
from activelearn.prm.label_mix import LabelMix
from activelearn.prm.scoring import score_solutions
from activelearn.prm.training import TrainConfig
from activelearn.prm.training_data import prm_items
from activelearn.prm.trajectory_text import with_context
from labeling.demo.agent_seed import seed_agent_project
from labeling.formats import trajectories
from labeling.imports import files as importers
from labeling.imports.trajectory_labels import import_trajectory_labels
from labeling.models import LabeledPass, Project, Solution
from tests.test_trajectories import MODELS, PEOPLE, TRACES

pytestmark = pytest.mark.django_db


def test_the_prm_reads_each_turn_after_its_context_and_math_as_before():
    importers.import_solutions(TRACES)
    import_trajectory_labels(PEOPLE)
    ten = Solution.objects.get(source_id="searchR1_hotpotqa:10:0")  # rated 0, -1, -1, -1
    (four,) = [i for i in prm_items(LabeledPass.objects.all()) if i.steps[0].endswith(ten.steps[0])]
    assert len(four.labels) == 2  # a pass's path ends at its first -1 (training_data.rated_paths)
    assert four.steps[0].startswith("[system] You are a helpful")
    assert "[user] Answer the given question" in four.steps[0]
    assert four.steps[1].startswith("[tool · search] …") and four.steps[1].endswith(ten.steps[1])
    assert all(len(s.split("\n\n**Tool call**")[0]) <= trajectories.CONTEXT_CHARS + 2 for s in four.steps[1:])
    assert with_context(["a", "b"], None) == ["a", "b"] and with_context(["a", "b"], ["", "ctx"]) == ["a", "ctx\n\nb"]


def test_train_on_traces_and_score_every_assistant_turn(micro_bert, model_dir):
    importers.import_solutions(TRACES)
    import_trajectory_labels(PEOPLE)
    for path in MODELS:
        import_trajectory_labels(path)
    cfg = TrainConfig(max_steps=2, batch_size=2, max_length=256, val_fraction=0.0)
    version = registry.train_version(base=micro_bert, cfg=cfg, passes=LabeledPass.objects.all(),
                                     labels=LabelMix("sources", {"human": 1, "imported": 0.5}))
    assert version.status == ModelVersion.Status.READY
    assert version.data_snapshot["automatic_items"] == {"imported": 4}  # each trace's newest imported labels
    assert score_solutions(version, Solution.objects.all()) == 4
    for s in Solution.objects.all():
        scores = SolutionScore.objects.get(solution=s, model_version=version).step_scores
        assert len(scores) == len(s.extra["step_messages"])  # one score per assistant turn


def test_the_demo_agent_project_trains_on_its_checker_and_scores_its_traces(micro_bert, model_dir):
    project, stats = seed_agent_project(6, 3, seed=1, logins=[])
    assert stats.created["solutions"] > 0 and stats.created["step_labels"] == stats.created["solutions"]
    cfg = TrainConfig(max_steps=2, batch_size=4, max_length=256, val_fraction=0.0)
    version = registry.train_version(base=micro_bert, cfg=cfg, passes=LabeledPass.objects.none(),
                                     labels=LabelMix("sources", {"imported": 1}), project=project.pk)
    assert version.status == ModelVersion.Status.READY
    n = Solution.objects.filter(project=project).count()
    assert version.data_snapshot["automatic_items"] == {"imported": n}
    assert score_solutions(version, Solution.objects.filter(project=project)) == n
    assert Project.objects.get(slug="demo-agent").outcome_checker == {"kind": "numeric"}


def test_automatic_labels_of_a_trace_train_every_turn_the_ones_after_a_wrong_one_too():
    from collections import Counter

    from activelearn.prm.label_mix import automatic_items
    from labeling.models import StepLabels

    project, _ = seed_agent_project(12, 4, seed=0, logins=[])
    items = list(automatic_items(LabelMix("sources", {"imported": 1}), Counter(), project.pk))
    after = 0
    for lab in StepLabels.objects.filter(solution__project=project).select_related("solution"):
        steps = with_context(lab.solution.steps, lab.solution.extra["step_context"])
        (item, *_) = [i for i in items if i.steps == steps]
        assert len(item.labels) == lab.n_steps  # every turn, the ones after a -1 too
        if lab.first_error >= 0:
            after += sum(v == -1 for v in lab.hard[lab.first_error + 1:])
    assert after > 0  # the checker's -1s after the first wrong turn (a wrong value carried forward) are trained on
