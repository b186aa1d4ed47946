"""Agent trajectories (issue 28): AgentProcessBench's trace files import unchanged (assistant turns are the
steps, every other message context), with clear errors naming line and field; its people's and models' label
files import as passes and as automatic labels (tests/fixtures/agentprocessbench, real lines)."""
import json
import shutil
from pathlib import Path

import orjson
import pytest
from django.core.management import CommandError, call_command

from labeling.formats import trajectories
from labeling.formats.errors import ImportFileError
from labeling.imports import files as importers
from labeling.imports.detect import detect
from labeling.imports.trajectory_labels import RUN_PREFIX, import_trajectory_labels
from labeling.models import AutoLabelRun, LabeledPass, LabelSource, Problem, Solution, StepLabels

pytestmark = pytest.mark.django_db

APB = Path(__file__).parent / "fixtures" / "agentprocessbench"
TRACES = APB / "hotpotqa.jsonl"
PEOPLE = APB / "hotpotqa__dazi.jsonl"
MODELS = sorted(APB.glob("hotpotqa__reference_*.jsonl"))


def _records(path=TRACES) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(tmp_path, records, name="t.jsonl") -> Path:
    p = tmp_path / name
    p.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return p


def test_trace_file_imports_as_problems_and_solutions_of_assistant_turns():
    assert detect(TRACES) == "trajectory"
    stats = importers.import_solutions(TRACES)
    assert stats.records == 4 and stats.created["solutions"] == 4 and stats.created["passes"] == 0
    assert stats.created["problems"] == 4
    sol = Solution.objects.get(source_id="searchR1_hotpotqa:0:0")
    rec = _records()[0]
    assert sol.extra["step_messages"] == [2, 4, 6, 8]
    assert len(sol.steps) == 4 and sol.extra["trajectory"] == rec  # every key kept, as written
    assert "**Tool call** `search`" in sol.steps[0] and '"query_list": [' in sol.steps[0]
    assert sol.steps[3].endswith("<answer>Adelaide</answer>")
    assert sol.final_answer == "Adelaide" and sol.answer_is_correct is False  # reward_info.reward 0
    assert sol.generator == "Qwen3-30B-A3B-Instruct-2507"
    assert sol.problem.text == rec["question"] and sol.problem.ground_truth_answer == "Marion, South Australia"
    assert sol.problem.source_id == "searchR1_hotpotqa:0"
    assert Solution.objects.get(source_id="searchR1_hotpotqa:3:0").answer_is_correct is True
    again = importers.import_solutions(TRACES)
    assert again.created["solutions"] == 0 and again.existing["solutions"] == 4 and Solution.objects.count() == 4


def test_people_labels_import_as_passes_with_the_outcome_and_once():
    importers.import_solutions(TRACES)
    stats = import_trajectory_labels(PEOPLE)
    assert stats.created["passes"] == 3 and stats.superseded == 0
    p = LabeledPass.objects.get(solution__source_id="searchR1_hotpotqa:4:0")
    assert [s["completions"][0]["rating"] for s in p.steps] == [1, 1, -1]
    assert p.finish_reason == "found_error" and p.first_error == 2
    assert p.extra["final_label"] == 1 and p.extra["annotator_name"] == "dazi" and p.extra["status"] == "done"
    assert p.annotator.uuid == trajectories.annotator_uuid("dazi")
    ten = LabeledPass.objects.get(solution__source_id="searchR1_hotpotqa:10:0")
    # every step rated, a -1 does not end the pass: AgentProcessBench rates every assistant turn
    assert [s["completions"][0]["rating"] for s in ten.steps] == [0, -1, -1, -1] and ten.extra["final_label"] == -1
    again = import_trajectory_labels(PEOPLE)
    assert again.created["passes"] == 0 and again.existing["passes"] == 3 and LabeledPass.objects.count() == 3


def test_model_label_files_import_as_automatic_labels_one_run_per_model():
    importers.import_solutions(TRACES)
    for path in MODELS:
        stats = import_trajectory_labels(path)
        assert stats.created["step_labels"] == 4 and stats.created["passes"] == 0
    runs = AutoLabelRun.objects.filter(key__startswith=RUN_PREFIX)
    assert sorted(runs.values_list("model", flat=True)) == [
        "claude-sonnet-4-5-20250929", "deepseek-reasoner", "gpt-5.2-chat"]
    assert set(runs.values_list("source", flat=True)) == {LabelSource.IMPORTED}
    gpt = StepLabels.objects.get(run__key=RUN_PREFIX + "gpt-5.2-chat", solution__source_id="searchR1_hotpotqa:0:0")
    assert gpt.hard == [1, 1, 1, -1] and gpt.first_error == 3 and gpt.detail["final_label"] == -1
    assert "Marion" in gpt.detail["explanations"]["final"]
    assert LabeledPass.objects.count() == 0
    assert import_trajectory_labels(MODELS[0]).created["step_labels"] == 0
    assert StepLabels.objects.count() == 12


def test_latest_save_of_a_record_counts_earlier_ones_superseded(tmp_path):
    importers.import_solutions(TRACES)
    line = _records(PEOPLE)[0]
    older = {**line, "step_labels": {"2": 1, "4": -1, "6": -1}, "final_label": -1,
             "updated_at": "2026-01-18T12:00:00+00:00"}
    stats = import_trajectory_labels(_write(tmp_path, [line, older]))
    assert stats.created["passes"] == 1 and stats.superseded == 1
    assert LabeledPass.objects.get().extra["final_label"] == line["final_label"]


def test_labels_made_on_another_version_of_the_trace_are_refused_by_line_and_field(tmp_path):
    importers.import_solutions(TRACES)
    # dazi's real line for 0:0 (annotation_platform/data/exports/hotpotqa__dazi.jsonl), labelled on an earlier
    # trace file: two assistant turns where this version has four
    line = {"dataset": "hotpotqa", "record_id": "searchR1_hotpotqa:0:0", "annotator": "dazi", "username": "dazi",
            "index_in_dataset": 0, "data_source": "searchR1_hotpotqa", "query_index": 0, "sample_index": 0,
            "step_labels": {"2": 1, "4": 1}, "final_label": 1, "final_label_touched": True, "status": "done",
            "comment": "", "updated_at": "2026-01-18T12:06:04.651665+00:00"}
    good = _records(PEOPLE)
    with pytest.raises(ImportFileError) as exc:
        import_trajectory_labels(_write(tmp_path, [*good, line]))
    assert exc.value.where == "line 4" and exc.value.error.field == "step_labels"
    assert "6, 8" in str(exc.value)
    assert LabeledPass.objects.count() == 0  # all or nothing
    with pytest.raises(ImportFileError) as exc:
        import_trajectory_labels(_write(tmp_path, [{**line, "step_labels": {"3": 1}}]))
    assert exc.value.error.field == "step_labels.3" and "assistant turns are messages 2, 4, 6, 8" in str(exc.value)
    with pytest.raises(ImportFileError) as exc:
        import_trajectory_labels(_write(tmp_path, [{**line, "record_id": "searchR1_hotpotqa:99:0"}]))
    assert exc.value.error.field == "record_id" and "import the trace file first" in str(exc.value)
    with pytest.raises(ImportFileError) as exc:
        import_trajectory_labels(_write(tmp_path, [{**line, "step_labels": {"2": 2, "4": 1, "6": 1, "8": 1}}]))
    assert exc.value.error.field == "step_labels.2"
    # an unfinished record may leave turns unrated: a pass that gave up there
    import_trajectory_labels(_write(tmp_path, [{**line, "status": "in_progress"}]))
    p = LabeledPass.objects.get()
    assert p.finish_reason == "give_up" and len(p.steps) == 2 and p.first_error is None


@pytest.mark.parametrize("change, where, field", [
    (lambda r: r["messages"].append({"role": "robot", "content": "x"}), "line 2", "messages[7].role"),
    (lambda r: r["messages"][2]["tool_calls"][0]["function"].pop("name"), "line 2",
     "messages[2].tool_calls[0].function.name"),
    (lambda r: r["messages"][3].update(content="x" * (trajectories.MAX_FIELD_CHARS + 1)), "line 2",
     "messages[3].content"),
    (lambda r: r.update(messages=[m for m in r["messages"] if m["role"] != "assistant"]), "line 2", "messages"),
    (lambda r: r["messages"][1].update(tool_calls=[]), "line 2", "messages[1].tool_calls"),
    (lambda r: r.update(reward_info={"reward": "yes"}), "line 2", "reward_info.reward"),
    (lambda r: r.update(messages=[{"role": "assistant", "content": "."}] * (trajectories.MAX_MESSAGES + 1)), "line 2",
     "messages"),
])
def test_bad_traces_are_refused_naming_line_and_field(tmp_path, change, where, field):
    recs = _records()[:2]
    change(recs[1])
    with pytest.raises(ImportFileError) as exc:
        importers.import_solutions(_write(tmp_path, recs))
    assert exc.value.where == where and exc.value.error.field == field
    assert Solution.objects.count() == 0 and Problem.objects.count() == 0


def test_openai_shapes_beyond_agentprocessbench(tmp_path):
    rec = {"id": "task-7", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is 6*7?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": {"expr": "6*7"}}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "assistant", "content": "It is 42."}], "ground_truth": 42, "tags": ["x"]}
    importers.import_solutions(_write(tmp_path, [rec]))
    sol = Solution.objects.get()
    assert sol.source_id == "task-7" and sol.problem.text == "What is 6*7?" and sol.problem.ground_truth_answer == "42"
    assert sol.extra["step_messages"] == [1, 3] and '"expr": "6*7"' in sol.steps[0]
    assert sol.final_answer == "It is 42." and sol.extra["trajectory"]["tags"] == ["x"]


def test_label_file_given_to_the_solution_importer_names_the_right_command(tmp_path):
    with pytest.raises(ImportFileError, match="import_trajectory_labels"):
        importers.import_solutions(PEOPLE)


def test_commands_import_traces_and_labels(tmp_path, capsys):
    call_command("import_solutions", str(TRACES), "--no-progress")
    call_command("import_trajectory_labels", str(PEOPLE), *map(str, MODELS), "--no-progress")
    out = capsys.readouterr().out
    assert "created 0 problems, 0 solutions, 3 passes" in out
    assert LabeledPass.objects.count() == 3 and StepLabels.objects.count() == 12
    copy = tmp_path / "labels.jsonl"
    shutil.copy(PEOPLE, copy)
    copy.write_text(copy.read_text() + "{not json\n")
    with pytest.raises(CommandError, match="line 4"):
        call_command("import_trajectory_labels", str(copy), "--no-progress")


def _export(tmp_path, *args, name="out.jsonl") -> list[dict]:
    out = tmp_path / name
    call_command("export_trajectories", str(out), "--no-progress", *args)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_export_gives_agentprocessbench_shape_and_reimports_as_the_same_passes(tmp_path):
    importers.import_solutions(TRACES)
    import_trajectory_labels(PEOPLE)
    gpt = RUN_PREFIX + "gpt-5.2-chat"
    import_trajectory_labels(APB / "hotpotqa__reference_gpt-5.2-chat.jsonl")
    exported = _export(tmp_path, "--run", gpt)
    assert len(exported) == 3 + 4
    traces = {f"{r['data_source']}:{r['query_index']}:{r['sample_index']}": r for r in _records()}
    people = {(d["record_id"], d["annotator"]): d for d in _records(PEOPLE)}
    for line in exported[:3]:
        want = people[(line["record_id"], "dazi")]
        trace = traces[line["record_id"]]
        assert {k: line[k] for k in trace} == trace  # the trace unchanged, every key
        assert line["step_labels"] == want["step_labels"] and line["final_label"] == want["final_label"]
        assert line["annotator"] == "dazi" and line["status"] == "done" and line["comment"] == ""
    models = {d["record_id"]: d for d in _records(APB / "hotpotqa__reference_gpt-5.2-chat.jsonl")}
    for line in exported[3:]:
        want = models[line["record_id"]]
        assert line["annotator"] == "gpt-5.2-chat" and line["step_labels"] == want["step_labels"]
        assert line["final_label"] == want["final_label"] and line["explanations"] == want["explanations"]

    # into another project: the same traces, passes and automatic labels, and once more: nothing new
    from labeling.models import Project
    other = Project.objects.create(slug="again", name="Again")
    back = tmp_path / "out.jsonl"
    first = importers.import_solutions(back, project=other.pk)
    assert first.created["solutions"] == 4 and first.created["passes"] == 3 and first.created["step_labels"] == 4
    assert first.repeated["solutions"] == 3  # a trace labelled twice is one trace
    labels = _export(tmp_path, "--shape", "labels", "--no-people", "--run", gpt, name="labels.jsonl")
    assert all("messages" not in d for d in labels) and len(labels) == 4
    assert import_trajectory_labels(_write(tmp_path, labels, "l.jsonl"), project=other.pk).existing["step_labels"] == 4
    rows = lambda pk: sorted((p.natural_key, p.extra["final_label"], str(p.steps)) for p in  # noqa: E731
                             LabeledPass.objects.filter(project_id=pk))
    assert rows(other.pk) == rows(1)
    autos = lambda pk: sorted(StepLabels.objects.filter(run__key=gpt, solution__project_id=pk)  # noqa: E731
                              .values_list("solution__content_hash", "hard", "first_error"))
    assert len(autos(1)) == 4 and autos(other.pk) == autos(1)
    again = importers.import_solutions(back, project=other.pk)
    assert again.created == {"problems": 0, "solutions": 0, "passes": 0, "step_labels": 0, "annotators": 0}
    assert LabeledPass.objects.filter(project=other).count() == 3
    # the exported automatic lines, imported with the traces (import_solutions), are people's only if they say
    # so: a model's line carries explanations and stays out of passes
    assert LabeledPass.objects.filter(project=other, annotator__uuid=trajectories.annotator_uuid("gpt-5.2-chat")
                                      ).count() == 0


def test_agreement_per_step_people_against_each_model_and_the_page(client):
    from labeling.people.accounts import set_user
    from labeling.reports import trajectory_agreement

    importers.import_solutions(TRACES)
    import_trajectory_labels(PEOPLE)
    for path in MODELS:
        import_trajectory_labels(path)
    figures = trajectory_agreement.every_step(1)
    assert set(figures) == {RUN_PREFIX + m for m in ("claude-sonnet-4-5-20250929", "deepseek-reasoner",
                                                      "gpt-5.2-chat")}
    # by hand from the files: people rated 3:0, 4:0, 10:0 (3 + 3 + 4 steps); each model rated them too
    people = {d["record_id"]: d for d in _records(PEOPLE)}
    for path in MODELS:
        model = {d["record_id"]: d for d in _records(path)}
        same = steps = same_first = same_final = 0
        for rid, p in people.items():
            m = model[rid]
            for k, v in p["step_labels"].items():
                steps += 1
                same += m["step_labels"][k] == v
            first = [min((int(k) for k, v in d["step_labels"].items() if v == -1), default=-1) for d in (p, m)]
            same_first += first[0] == first[1]
            same_final += p["final_label"] == m["final_label"]
        fig = figures[RUN_PREFIX + path.stem.split("__reference_")[1]]
        assert fig["pairs"] == 3 and fig["steps"] == steps == 10 and sum(fig["confusion"].values()) == 10
        assert fig["step_agreement"] == pytest.approx(same / steps)
        assert fig["first_wrong_agreement"] == pytest.approx(same_first / 3)
        assert fig["final_agreement"] == pytest.approx(same_final / 3) and fig["final_pairs"] == 3
    # a second person on 4:0 gives the people row
    line = {**people["searchR1_hotpotqa:4:0"], "annotator": "second", "username": "second",
            "step_labels": {"2": 1, "4": -1, "6": -1}, "final_label": -1}
    import_trajectory_labels(_write_tmp([line]))
    fig = trajectory_agreement.every_step(1)["people"]
    assert fig["pairs"] == 1 and fig["steps"] == 3 and fig["step_agreement"] == pytest.approx(2 / 3)
    assert fig["confusion"]["+1/-1"] == 1 and fig["first_wrong_agreement"] == 0 and fig["final_agreement"] == 0
    client.force_login(set_user("boss", "pw-for-tests-only", "admin").user)
    page = client.get("/quality/labels/").content.decode()
    assert 'id="trajectory-agreement-table"' in page and "gpt-5.2-chat" in page and "deepseek-reasoner" in page


def _write_tmp(records) -> Path:
    import tempfile

    d = Path(tempfile.mkdtemp())
    return _write(d, records)


def test_the_api_serves_a_trace_with_its_context_and_wants_its_outcome():
    import uuid

    from .api_helpers import queued_solutions, token_client

    importers.import_solutions(TRACES, enqueue=True)
    queued_solutions(1)  # a math solution after the four traces
    c, _ = token_client("ann", "annotator")
    task = c.post("/api/tasks/next/").json()["lease"]
    trace = task["trajectory"]
    assert trace["step_messages"] == [2, 4, 6, 8] and [m["role"] for m in trace["before"][0]] == ["system", "user"]
    assert [m["role"] for m in trace["before"][1]] == ["tool"] and trace["before"][1][0]["name"] == "search"
    assert trace["after"] == [] and trace["tools"] == ["search"]
    url = f"/api/tasks/{task['id']}"
    ok = c.post(f"{url}/draft/", {"ratings": [{"rating": 1}], "outcome": 0}, content_type="application/json")
    assert ok.status_code == 200 and c.post("/api/tasks/next/").json()["lease"]["draft"]["outcome"] == 0
    body = {"client_id": str(uuid.uuid4()), "ratings": [{"rating": r} for r in (1, 1, 0, -1)],
            "finish_reason": "found_error", "total_time": 10}
    missing = c.post(f"{url}/submit/", body, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["field"] == "outcome"
    for bad in (2, True, "1"):
        r = c.post(f"{url}/submit/", {**body, "outcome": bad}, content_type="application/json")
        assert r.status_code == 400 and "outcome" in r.content.decode(), bad
    assert LabeledPass.objects.count() == 0
    assert c.post(f"{url}/submit/", {**body, "outcome": -1}, content_type="application/json").status_code == 200
    # a replay with another outcome is a conflict, never a second pass
    again = c.post(f"{url}/submit/", {**body, "outcome": 1}, content_type="application/json")
    assert again.status_code == 409 and again.json()["field"] == "outcome"
    assert LabeledPass.objects.get().extra["final_label"] == -1
    for _ in range(3):  # the other traces, then the math solution: it has no outcome to rate
        t = c.post("/api/tasks/next/").json()["lease"]
        if "trajectory" not in t:
            break
        n = len(t["steps"])
        c.post(f"/api/tasks/{t['id']}/submit/", {**body, "client_id": str(uuid.uuid4()), "finish_reason": "solution",
                                                  "ratings": [{"rating": 1}] * n, "outcome": 1},
               content_type="application/json")
    t = c.post("/api/tasks/next/").json()["lease"]
    assert "trajectory" not in t
    r = c.post(f"/api/tasks/{t['id']}/submit/", {**body, "client_id": str(uuid.uuid4()), "finish_reason": "solution",
                                                  "ratings": [{"rating": 1}] * 3, "outcome": 1},
               content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "outcome"


def test_a_trace_file_uploads_through_the_api_and_a_label_file_is_sent_to_its_command(
        settings, tmp_path, eager, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .api_helpers import token_client

    settings.MEDIA_ROOT = tmp_path / "media"
    admin = token_client("boss", "admin")[0]

    def upload(content: bytes, name: str) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            r = admin.post("/api/imports/", {"file": SimpleUploadedFile(name, content)})
        assert r.status_code == 202, r.content
        return admin.get(r["Location"]).json()

    job = upload(TRACES.read_bytes(), "hotpotqa.jsonl")
    assert job["status"] == "succeeded" and job["stats"]["format"] == "trajectory"
    assert job["stats"]["created"]["solutions"] == 4 and Solution.objects.count() == 4
    refused = upload(PEOPLE.read_bytes(), "hotpotqa__dazi.jsonl")
    assert refused["status"] == "failed" and "import_trajectory_labels" in json.dumps(refused["failure"])
    assert LabeledPass.objects.count() == 0


def test_a_trace_is_the_same_trace_whatever_the_order_of_its_keys():
    # PostgreSQL's jsonb gives objects back in its own key order: an exported trace must hash the same
    rec = _records()[0]
    shuffled = {**rec, "messages": [dict(reversed(list(m.items()))) for m in rec["messages"]]}
    assert trajectories.parse_trace(shuffled).solution.key == trajectories.parse_trace(rec).solution.key


def test_labelled_traces_export_in_a_training_format_with_each_turns_context(tmp_path):
    """The training format of traces is OpenRLHF's PRM rows (export_openrlhf): one placeholder after each rated
    assistant turn, the context since the turn before (tool results) in between, as the PRM trains here."""
    from activelearn.prm.text import normalize

    call_command("import_solutions", str(TRACES), "--no-progress")
    call_command("import_trajectory_labels", str(PEOPLE), "--no-progress")
    out = tmp_path / "openrlhf.jsonl"
    call_command("export_openrlhf", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    passes = LabeledPass.objects.select_related("solution__problem")
    assert rows and len(rows) == passes.count()
    tag = "ки"  # the math-shepherd preset's placeholder
    for row in rows:
        sol = next(p.solution for p in passes if row["input"].startswith(normalize(p.solution.problem.text)))
        assert row["input"].count(tag) == len(row["value"]) <= len(sol.steps)
        contexts = [c for c in sol.extra["step_context"][1:len(row["value"])] if c]
        assert contexts, "a trace's later turns follow tool results"
        for c in contexts:  # each context (its most recent characters) sits before its turn, not dropped
            assert normalize(c).strip()[-60:] in row["input"]
