"""A round on the demo agent project, start to queue (issue 28, item 7): the built-in demo policy writes the
calculator agent's traces there (stored as imported traces are), the project's outcome checker grades them, the
agent checker labels their every turn, a PRM trains on those labels over traces, scores them, selects the
convincing wrong ones, queues them, and a best-of-N ends the round; an annotator is served a trace. In process
(Celery eager), on the database the tests run on (SQLite, or PostgreSQL with DATABASE_URL)."""
import pytest

from activelearn.models import GeneratedSample, RoundSelection
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.config import with_defaults
from labeling.demo.agent_seed import seed_agent_project
from labeling.formats import trajectories
from labeling.models import ProjectMember, QueueEntry, Solution, StepLabels

from .api_helpers import token_client
from .round_fixtures import allow_micro

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_round_on_the_demo_agent_generates_labels_trains_selects_and_queues_traces(eager, settings, micro_bert,
                                                                                      model_dir):
    allow_micro(settings, micro_bert)
    project, _ = seed_agent_project(6, 4, 0, logins=[])
    seeded = set(Solution.objects.filter(project=project).values_list("id", flat=True))
    defaults = with_defaults({}, project.pk)
    assert defaults["generate_with"] == "demo" and defaults["train_labels"] == "sources"
    assert defaults["label_weights"] == {"imported": 1.0} and defaults["samples_per_problem"] == 8

    r = rounds.start_round({"base_model": "micro", "max_length": 256, "samples_per_problem": 4, "chunk_size": 9},
                           project=project)
    r.refresh_from_db()
    assert r.status == "succeeded", r.error
    assert r.config["train_labels"] == "sources" and r.config["epochs"] == 1.0 and r.config["per_problem"] == 2

    # generated: the agent's traces, stored as an import stores them, graded by the project's numeric checker
    gen = r.stages["generate"]
    fresh = Solution.objects.filter(project=project).exclude(id__in=seeded)
    assert gen["status"] == "done" and gen["done"] == 6 * 4 and fresh.count() == gen["outcomes"]["kept"] > 6
    assert GeneratedSample.objects.filter(run__round=r, solution__isnull=False).count() == gen["done"]
    wrong = 0
    for s in fresh:
        trace = s.extra["trajectory"]
        turns = trajectories.step_messages(trace["messages"])
        assert s.extra["step_messages"] == turns and len(s.steps) == len(turns) == len(s.extra["step_context"])
        assert s.steps == trajectories.parse_trace(trace).solution.steps and "reward_info" not in trace
        assert s.answer_graded_at is not None and s.answer_is_correct == (trace["meta"]["error"] is None)
        assert s.extra["provenance"]["run"] == f"round-{r.generation}"
        wrong += not s.answer_is_correct
    assert 0 < wrong < fresh.count()

    # auto-labelled: the checker's label of every turn, where the generator slipped
    labels = StepLabels.objects.filter(run__key=f"round-{r.generation}-agent-checker")
    assert gen["auto_labels"]["labelled"] == labels.count() == fresh.count()
    for lab in labels.select_related("solution"):
        meta = lab.solution.extra["trajectory"]["meta"]
        assert len(lab.hard) == lab.n_steps and lab.first_error == (-1 if meta["first_error"] is None
                                                                    else meta["first_error"])

    # trained on the seed's and the fresh traces' checker labels; validated against the checker on traces
    version = r.model_version
    assert version.data_snapshot["automatic_items"]["imported"] >= len(seeded)
    assert r.metrics["validation"]["source"] == "checker"

    # selected and queued: traces, convincing wrong ones first; a best-of-N over the fresh traces
    picks = list(RoundSelection.objects.filter(round=r).select_related("solution"))
    assert picks and r.counts["selected"] == len(picks) and r.counts["wrong_selected"] > 0
    assert all("trajectory" in p.solution.extra and p.solution.id not in seeded for p in picks)
    assert all(p.answer_is_correct is False for p in picks if p.bucket == "convincing_wrong")
    assert QueueEntry.objects.filter(generation=r.generation, solution__project=project).count() == len(picks)
    assert r.metrics["best_of_n"]["evaluation"]

    # an annotator of the project is served a queued trace, as the page shows it
    client, annotator = token_client("agent-ann", "annotator")
    ProjectMember.objects.create(project=project, user=annotator.user, role="annotator")
    lease = client.post("/api/tasks/next/", {"project": project.slug}).json()["lease"]
    assert lease["trajectory"]["step_messages"] and len(lease["trajectory"]["before"]) == len(lease["steps"])
