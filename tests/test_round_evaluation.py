"""A round measures its models (issue 26, items 1-3 and 6): the new PRM's validation on problems it did not
train on, an ORM trained beside it on request, the aggregation that selects, and best-of-N over the round's
fresh samples recorded at its end; shown on /rounds/, in the API and the admin. The tests check that the
figures exist and equal what the stored scores give, not that they are high."""
import pytest
from django.contrib.auth.models import User
from django.test import Client

from activelearn.models import BestOfNEvaluation, GeneratedSample, ModelVersion, RoundSelection, SolutionScore
from activelearn.prm.aggregation import AGGREGATIONS, aggregate
from activelearn.prm.best_of_n import best_of_n_curve
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.config import OPTIONS, aggregation_of, config_of, from_form, parse_config, with_defaults
from activelearn.views import form_fields
from labeling.models import DEFAULT_PROJECT_ID
from labeling.people.accounts import set_user

from .round_fixtures import allow_micro

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _micro_allowed(settings, micro_bert):
    allow_micro(settings, micro_bert)


def login(role: str) -> Client:
    c = Client()
    c.force_login(set_user(f"e-{role}", "pw-for-tests-only", role).user)
    return c


def expected_curves(r, result) -> dict:
    """Best-of-N recomputed from the stored step scores of the run's samples."""
    prm, orm = r.model_version, ModelVersion.objects.filter(pk=result["orm_version"]).first()
    steps = {m.pk: dict(SolutionScore.objects.filter(model_version=m).values_list("solution_id", "step_scores"))
             for m in filter(None, (prm, orm))}
    groups = {}
    for pid, sid, answer, ok in GeneratedSample.objects.filter(run__round=r).order_by("problem_id", "index") \
            .values_list("problem_id", "solution_id", "solution__final_answer", "solution__answer_is_correct"):
        groups.setdefault(pid, []).append((sid, " ".join(answer.split()) if sid and answer else None, bool(ok)))
    how = result["aggregation"]

    def curve(score, method):
        samples = [[(score(sid), key, ok) for sid, key, ok in g] for g in groups.values()]
        return best_of_n_curve(samples, result["ns"], result["trials"], result["seed"], method)

    def prm_score(h):
        return lambda sid: aggregate(steps[prm.pk].get(sid, []), h)

    out = {"prm": curve(prm_score(how), "prm"), "majority": curve(prm_score(how), "majority"),
           "random": curve(prm_score(how), "random")}
    if orm:
        out["orm"] = curve(lambda sid: steps[orm.pk][sid][-1] if sid in steps[orm.pk] else 0.0, "orm")
    return out, {h: curve(prm_score(h), "prm") for h in AGGREGATIONS}


def test_a_generating_round_validates_trains_an_orm_and_records_best_of_n(eager, micro_bert, model_dir):
    from labeling.demo.seed import seed_problems

    seed_problems()
    r = rounds.start_round({"base_model": "micro", "epochs": 1, "max_length": 256, "samples_per_problem": 4,
                            "orm": "train", "best_of_n_trials": 20})
    r.refresh_from_db()
    assert r.status == "succeeded", r.error
    assert config_of(r).generate_with == "demo"  # the project's default: it has demo problems
    val = r.model_version.metrics["validation"]
    assert val["source"] == "checker" and val["solutions"] > 0 and "too few" in val["note"]
    for key in ("step_auroc", "n_steps", "f1", "threshold", "n_error", "n_correct", "final_answer_auroc",
                "n_right", "n_wrong", "aggregation"):
        assert key in val, key
    # validated on the round's fresh samples of problems it did not train on
    assert r.metrics["validation"] == val
    orm = ModelVersion.objects.get(pk=r.metrics["orm"]["model_version"])
    assert orm.kind == "orm" and orm.is_active and orm.metrics["validation"]["aggregation"] == "last"
    assert r.stages["train"]["orm_version"] == orm.pk

    # selection by the chosen aggregation of the stored step scores
    how = aggregation_of(r)
    assert how == val["aggregation"]
    stored = dict(SolutionScore.objects.filter(model_version=r.model_version).values_list("solution_id", "step_scores"))
    picks = list(RoundSelection.objects.filter(round=r))
    assert picks and all(p.score == pytest.approx(aggregate(stored[p.solution_id], how)) for p in picks)

    ev = BestOfNEvaluation.objects.get(run__round=r)
    assert r.metrics["best_of_n"]["evaluation"] == ev.pk and ev.orm_version_id == orm.pk
    result = ev.result
    assert result["ns"] == [1, 2, 4] and result["trials"] == 20 and result["aggregation"] == how
    curves, by_aggregation = expected_curves(r, result)
    assert set(result["curves"]) == {"prm", "orm", "majority", "random"}
    for name, curve in curves.items():
        assert [p["accuracy"] for p in result["curves"][name]] == pytest.approx([p["accuracy"] for p in curve]), name
    for name, curve in by_aggregation.items():
        assert [p["accuracy"] for p in result["prm_by_aggregation"][name]] == pytest.approx(
            [p["accuracy"] for p in curve]), name
    assert r.metrics["best_of_n"]["prm"] == pytest.approx(result["curves"]["prm"][-1]["accuracy"])

    # shown: the API, the page, the admin
    staff = login("ml_staff")
    detail = staff.get(f"/api/rounds/{r.pk}/").json()
    assert detail["best_of_n"]["curves"]["prm"] == result["curves"]["prm"] and detail["aggregation"] == how
    assert detail["metrics"]["validation"]["step_auroc"] == pytest.approx(val["step_auroc"])
    assert staff.get(f"/api/models/{r.model_version.pk}/").json()["metrics"]["validation"]["source"] == "checker"
    page = staff.get("/rounds/").content.decode()
    assert 'id="validation-table"' in page and f"PRM v{r.model_version.pk}" in page and f"ORM v{orm.pk}" in page
    assert f"{val['step_auroc']:.3f}" in page and 'id="best-of-n-table"' in page
    assert 'id="best-of-n-aggregation-table"' in page and f"run {ev.run.key}" in page
    root = Client()
    root.force_login(User.objects.create_superuser("root", "root@example.org", "pw-for-tests-only"))
    admin = root.get("/admin/activelearn/modelversion/").content.decode()
    assert f"step AUROC {val['step_auroc']:.3f}" in admin


def test_the_page_default_round_is_the_commands(micro_bert):
    """What the form sends with its defaults is what start_round (and the API) run with no options."""
    from labeling.demo.seed import seed_problems

    seed_problems()
    fields = {f["name"]: f["default"] for f in form_fields(DEFAULT_PROJECT_ID)}
    known = {o.name for o in OPTIONS}
    form = from_form({k: v for k, v in fields.items() if k in known and v != ""})
    nullable = {o.name for o in OPTIONS if o.nullable}
    form.update({k: None for k, v in fields.items() if v == "" and k in nullable})
    assert parse_config(form) == parse_config(with_defaults({}, DEFAULT_PROJECT_ID))
    assert parse_config(with_defaults({}, DEFAULT_PROJECT_ID)).generate_with == "demo"
