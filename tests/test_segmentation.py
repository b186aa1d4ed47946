"""Cutting a solution text into steps: every strategy, the bounds, the step cap, nothing dropped, and the
import paths (a record's own options, the command's, the API's) keeping the original text beside the steps."""
import io
import json

import pytest
from django.core.management import CommandError, call_command

from labeling.formats import segmentation as seg
from labeling.formats.errors import RecordError
from labeling.formats.solution_text import split_steps
from labeling.formats.solutions import parse_solution
from labeling.models import ImportJob, Role, Solution

from .api_helpers import token_client

COT = ("Let me think. First, 12 * 3 = 36.\n\nThen 36 + 4 = 40. Is that right? Yes.\n\n"
       "Step 3: divide by 8, which gives 5.\n\n# Answer\n\n5")


def _words(steps: list[str]) -> list[str]:
    return " ".join(steps).split()


@pytest.mark.parametrize("strategy, expected", [
    ("newline", 3), ("blank_line", 3), ("sentences", 6),
])
def test_each_strategy_cuts_and_keeps_every_word_and_the_answer_in_the_last_step(strategy, expected):
    steps = seg.segment(COT, seg.Segmentation(strategy=strategy))
    assert len(steps) == expected, steps
    assert _words(steps) == COT.split() and steps[-1].endswith("# Answer\n\n5")


def test_auto_without_options_is_what_imports_always_did():
    assert seg.segment(COT) == split_steps(COT) and seg.segment("a\nb\nc") == split_steps("a\nb\nc")


def test_numbered_steps_and_markers():
    text = "Step 1: read the problem.\nIt asks for x.\nStep 2: solve, x = 3.\n3) check: 3 + 3 = 6."
    assert seg.segment(text, seg.Segmentation(strategy="numbered")) == [
        "Step 1: read the problem.\nIt asks for x.", "Step 2: solve, x = 3.", "3) check: 3 + 3 = 6."]
    tagged = "<step>a = 1</step><step>b = 2</step>\n---\nso a + b = 3"
    assert seg.segment(tagged, seg.Segmentation(strategy="markers")) == ["a = 1", "b = 2", "so a + b = 3"]
    custom = seg.Segmentation(strategy="markers", markers=("||",))
    assert seg.segment("one || two||three", custom) == ["one", "two", "three"]


def test_decimals_and_abbreviations_do_not_end_a_sentence():
    steps = seg.segment("The price is 3.5 dollars, e.g. cheap. Then we stop.", seg.Segmentation(strategy="sentences"))
    assert steps == ["The price is 3.5 dollars, e.g. cheap.", "Then we stop."]


def test_short_pieces_join_long_ones_are_cut_and_the_cap_joins_neighbours():
    short = seg.segment("ok\nso\nthen we compute 2 + 2 = 4\nfine", seg.Segmentation(strategy="newline", min_chars=10))
    assert short == ["ok\nso\nthen we compute 2 + 2 = 4\nfine"]  # "fine" is short too: it joins the step before
    assert _words(short) == "ok so then we compute 2 + 2 = 4 fine".split()
    long_text = " ".join(f"Sentence number {i} is here." for i in range(40))
    cut = seg.segment(long_text, seg.Segmentation(strategy="newline", max_chars=100))
    assert len(cut) > 5 and all(len(s) <= 100 for s in cut) and _words(cut) == long_text.split()
    one_long_word_run = "x" * 250
    assert all(len(s) <= 100 for s in seg.segment(one_long_word_run, seg.Segmentation(strategy="newline",
                                                                                       max_chars=100)))
    lines = "\n".join(f"line {i}" for i in range(300))
    capped = seg.segment(lines, seg.Segmentation(strategy="newline", max_steps=64))
    assert len(capped) <= 64 and _words(capped) == lines.split()


@pytest.mark.parametrize("options, field", [
    ({"strategy": "paragraphs"}, "strategy"), ({"strategy": "markers", "markers": [""]}, "markers"),
    ({"max_steps": -1}, "max_steps"), ({"min_chars": 50, "max_chars": 10}, "min_chars"), ({"spam": 1}, "spam"),
    ({"markers": [1]}, "markers"),
])
def test_bad_options_name_the_option(options, field):
    with pytest.raises(seg.SegmentationError) as info:
        seg.from_options(options)
    assert info.value.field == field


def test_a_record_names_its_segmentation_and_keeps_its_text():
    item = parse_solution({"problem": "p", "solution": COT, "segmentation": {"strategy": "sentences"}})
    assert len(item.solution.steps) == 6
    extra = item.solution.extra
    assert extra["original_text"] == COT and extra["segmentation"]["strategy"] == "sentences"
    plain = parse_solution({"problem": "p", "solution": COT})
    assert plain.solution.steps == split_steps(COT) and "original_text" not in plain.solution.extra
    with pytest.raises(RecordError) as info:
        parse_solution({"problem": "p", "solution": COT, "segmentation": {"strategy": "nope"}})
    assert info.value.field == "segmentation.strategy"
    with pytest.raises(RecordError) as info:
        parse_solution({"problem": "p", "steps": ["a"], "segmentation": {"strategy": "newline"}})
    assert info.value.field == "segmentation"


@pytest.mark.django_db
def test_the_import_command_segments_texts(tmp_path):
    path = tmp_path / "cot.jsonl"
    path.write_text(json.dumps({"problem": "What is 40 / 8?", "solution": COT}) + "\n")
    call_command("import_solutions", str(path), "--format", "jsonl", "--segment", "sentences", "--no-progress",
                 stdout=io.StringIO())
    s = Solution.objects.get()
    assert len(s.steps) == 6 and s.extra["original_text"] == COT
    with pytest.raises(CommandError, match="--max-steps"):
        call_command("import_solutions", str(path), "--max-steps", "-2", "--no-progress")


@pytest.mark.django_db
def test_an_upload_segments_texts_and_a_bad_option_is_refused(django_capture_on_commit_callbacks, eager):
    client, _ = token_client("adm", Role.ADMIN)
    line = json.dumps({"problem": "What is 40 / 8?", "solution": COT}).encode() + b"\n"

    def upload(options):
        f = io.BytesIO(line)
        f.name = "cot.jsonl"
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/imports/", {"file": f, "format": "jsonl", "segmentation": json.dumps(options)})

    bad = upload({"strategy": "markers", "markers": []})
    assert bad.status_code == 400 and bad.json()["field"] == "segmentation.markers" and not ImportJob.objects.exists()
    ok = upload({"strategy": "sentences", "max_steps": 3})
    assert ok.status_code == 202, ok.content
    assert ImportJob.objects.get().status == "succeeded"
    s = Solution.objects.get()
    assert len(s.steps) == 3 and s.extra["segmentation"]["max_steps"] == 3


def test_generation_splits_a_sampled_chain_of_thought_by_the_same_strategies():
    from activelearn.policy.splitting import RULES, split

    assert {"numbered", "markers", "sentences"} <= set(RULES)
    out = split("Step 1: 2 + 2 = 4.\nStep 2: so 4.\n\n# Answer\n\n4", "numbered")
    assert out.steps == ["Step 1: 2 + 2 = 4.", "Step 2: so 4.\n\n# Answer\n\n4"] and out.final_answer == "4"
    assert split("<step>a = 1</step><step>so 1</step>", "markers").steps == ["a = 1", "so 1"]
