"""TRL stepwise-supervision rows, with each neutral policy."""
import pytest

from labeling.formats.trl import trl_rows

from .helpers import read_jsonl, run, write_jsonl

pytestmark = pytest.mark.django_db


def _c(text, rating):
    return {"text": text, "rating": rating, "flagged": False}


STEPS = [
    {"completions": [_c("a", 1)], "human_completion": None, "chosen_completion": 0},
    {"completions": [_c("b", 0)], "human_completion": None, "chosen_completion": 0},
    {"completions": [_c("c1", -1), _c("c2", 1), _c("c3", None)], "human_completion": None, "chosen_completion": 1},
    {"completions": [_c("d1", -1)], "human_completion": {"text": "d-human", "rating": None, "source": "human",
                                                          "flagged": False}, "chosen_completion": None},
    {"completions": [_c("e", -1)], "human_completion": None, "chosen_completion": None},
]


def test_rows_neutral_positive():
    rows = list(trl_rows("P", STEPS, "positive"))
    assert rows == [
        {"prompt": "P", "completions": ["a", "b", "c1"], "labels": [True, True, False]},
        {"prompt": "P", "completions": ["a", "b", "c2", "d1"], "labels": [True, True, True, False]},
        {"prompt": "P", "completions": ["a", "b", "c2", "d-human", "e"], "labels": [True, True, True, True, False]},
        # the chosen path itself, as TRL's own PRM800K conversion emits it
        {"prompt": "P", "completions": ["a", "b", "c2", "d-human"], "labels": [True, True, True, True]},
    ]


def test_rows_neutral_negative_and_drop():
    neg = list(trl_rows("P", STEPS, "negative"))
    assert [r["labels"][:2] for r in neg] == [[True, False]] * 4
    drop = list(trl_rows("P", STEPS, "drop"))
    assert drop == [{"prompt": "P", "completions": ["a"], "labels": [True]}]  # cut before "b", written once


def test_known_record_through_the_command(shared_data, tmp_path):
    # generation 6: a neutral first step, then the error at step 2 with four rated alternatives
    rec = read_jsonl(shared_data / "prm800k" / "sample.jsonl")[5]
    run("import_prm800k", str(write_jsonl(tmp_path / "one.jsonl", [rec])))
    out = tmp_path / "trl.jsonl"
    run("export_prm800k", str(out), "--format", "trl")
    first, second = rec["label"]["steps"]
    prompt = rec["question"]["problem"]
    assert first["completions"][0]["rating"] == 0 and second["chosen_completion"] is None
    expected = [{"prompt": prompt, "completions": [first["completions"][0]["text"], c["text"]],
                 "labels": [True, c["rating"] == 1]} for c in second["completions"]]
    expected.append({"prompt": prompt, "completions": [first["completions"][0]["text"]], "labels": [True]})
    assert read_jsonl(out) == expected
    run("export_prm800k", str(out), "--format", "trl", "--neutral", "negative")
    assert {tuple(r["labels"][:1]) for r in read_jsonl(out)} == {(False,)}
    run("export_prm800k", str(out), "--format", "trl", "--neutral", "drop")
    assert read_jsonl(out) == []  # every row starts with the neutral step
