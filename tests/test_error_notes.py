"""A wrong step's error type (the project's taxonomy) and rationale: checked on submit, kept with the pass and
its drafts, in the step-label and TRL exports, and in a PRM800K export only when asked for."""
import json
import uuid

import orjson
import pytest

from labeling.exports import rows, writers
from labeling.models import LabeledPass, Project, ProjectMember, Role

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db


def _client():
    client, annotator = token_client("ann", Role.ANNOTATOR)
    queued_solutions(1)
    task = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
    return client, annotator, task


def _submit(client, task, ratings, finish="found_error", client_id=None):
    return client.post(f"/api/tasks/{task['id']}/submit/", json.dumps({
        "client_id": client_id or str(uuid.uuid4()), "ratings": ratings, "finish_reason": finish,
        "total_time": 10}), content_type="application/json")


WRONG = {"rating": -1, "error_type": "calculation", "rationale": "2+2 is not 5"}


def test_a_wrong_steps_error_type_and_rationale_are_kept_with_the_pass_and_replay():
    client, _, task = _client()
    draft = client.post(f"/api/tasks/{task['id']}/draft/", json.dumps({"ratings": [{"rating": 1}, WRONG]}),
                        content_type="application/json")
    assert draft.status_code == 200
    again = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
    assert again["draft"]["ratings"][1]["error_type"] == "calculation"  # a reload resumes with the note
    receipt = str(uuid.uuid4())
    assert _submit(client, task, [{"rating": 1}, WRONG], client_id=receipt).status_code == 200
    p = LabeledPass.objects.get()
    assert p.step_notes == {"1": {"error_type": "calculation", "rationale": "2+2 is not 5"}}
    assert _submit(client, task, [{"rating": 1}, WRONG], client_id=receipt).json()["duplicate"] is True
    other = _submit(client, task, [{"rating": 1}, {**WRONG, "error_type": "logic"}], client_id=receipt)
    assert other.status_code == 409 and other.json()["field"] == "ratings"


@pytest.mark.parametrize("ratings, field", [
    ([{"rating": 1, "error_type": "logic"}], "ratings[0].error_type"),
    ([{"rating": 1}, {**WRONG, "error_type": "typo"}], "ratings[1].error_type"),
    ([{"rating": 1}, {**WRONG, "rationale": "x" * 2001}], "ratings[1].rationale"),
    ([{"rating": 1}, {**WRONG, "rationale": 5}], "ratings[1].rationale"),
])
def test_a_bad_note_is_refused_naming_it_and_nothing_lands(ratings, field):
    client, _, task = _client()
    r = _submit(client, task, ratings)
    assert r.status_code == 400 and r.json()["field"] == field, r.content
    assert not LabeledPass.objects.exists()


def test_a_project_sets_its_own_taxonomy():
    code = Project.objects.create(slug="code", name="Code", error_taxonomy=["off by one", "wrong API"])
    queued_solutions(1, project=code)
    client, annotator = token_client("coder", Role.ANNOTATOR)
    ProjectMember.objects.filter(user=annotator.user).update(project=code)
    task = client.post("/api/tasks/next/", "{}", content_type="application/json").json()["lease"]
    assert _submit(client, task, [{"rating": 1}, WRONG]).json()["field"] == "ratings[1].error_type"
    assert _submit(client, task, [{"rating": 1}, {**WRONG, "error_type": "off by one"}]).status_code == 200


def test_exports_carry_the_notes_and_prm800k_only_when_asked():
    client, _, task = _client()
    assert _submit(client, task, [{"rating": 1}, WRONG]).status_code == 200
    plain = orjson.loads(next(writers.prm800k_lines(rows.passes_for_export())))
    assert all("error_type" not in s for s in plain["label"]["steps"])
    noted = orjson.loads(next(writers.prm800k_lines(rows.passes_for_export(), with_notes=True)))
    assert noted["label"]["steps"][1]["error_type"] == "calculation"
    assert noted["label"]["steps"][1]["rationale"] == "2+2 is not 5"
    assert {k: v for k, v in noted.items() if k != "label"} == {k: v for k, v in plain.items() if k != "label"}
    (steps_row,) = [orjson.loads(line) for line in writers.step_label_lines(["human"], "steps")]
    assert steps_row["notes"] == [None, {"error_type": "calculation", "rationale": "2+2 is not 5"}]
    (trl_row,) = [orjson.loads(line) for line in writers.step_label_lines(["human"], "trl")]
    assert trl_row["labels"] == [True, False] and trl_row["notes"][1]["error_type"] == "calculation"
    pass_rows = [orjson.loads(line) for line in writers.trl_lines(rows.passes_for_export())]
    pass_trl = next(r for r in pass_rows if r["labels"] == [True, False])
    assert pass_trl["notes"] == steps_row["notes"]
