"""How a reward model reads numbers (activelearn/prm/text.py, issue 26 item 4): as written, digit by digit,
or digit by digit last digit first; said by the backbone it was built as, or by the version's `model.numbers`,
and kept by every version saved from it."""
import pytest

from activelearn.prm import backbone, heads
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.text import NUMBERS_FILE, normalize, numbers_of, write_numbers

CORPUS = [f"the total is ${a} \\times {b} = {a * b}$ dollars" for a in range(2, 30) for b in range(2, 7)]


def test_numbers_are_written_as_asked():
    text = "Taking away $759 - 117 = 642$ pencils, \\frac{20}{100}"
    assert write_numbers(text, "as_written") == write_numbers(text, None) == text
    assert write_numbers(text, "digits") == "Taking away $7 5 9 - 1 1 7 = 6 4 2$ pencils, \\frac{2 0}{1 0 0}"
    assert write_numbers(text, "reversed") == "Taking away $9 5 7 - 7 1 1 = 2 4 6$ pencils, \\frac{0 2}{0 0 1}"
    assert normalize("3·12", "reversed") == "3 \\cdot 2 1"
    with pytest.raises(ValueError, match="numbers must be one of"):
        write_numbers(text, "backwards")


def test_a_reversed_micro_backbone_reads_units_first_and_its_versions_keep_it(tmp_path):
    from activelearn.prm.micro import build_micro_backbone

    base = build_micro_backbone(tmp_path / "rev", CORPUS, "bert", vocab_size=120, numbers="reversed")
    assert numbers_of(base) == "reversed"
    rm = heads.build(str(base), heads.ModelOptions(), new_head=True, max_length=64, seed=0)
    (enc,) = rm.encode([("What is $12 \\times 4$?", ["$12 \\times 4 = 48$."])])
    tokens = rm.tokenizer.convert_ids_to_tokens(enc.input_ids)
    assert tokens[tokens.index("=") + 1:tokens.index("=") + 3] == ["8", "4"], tokens  # 48, units first
    rm.save(tmp_path / "version")
    again = RewardModel.load(tmp_path / "version")
    assert (tmp_path / "version" / NUMBERS_FILE).is_file() and again.tokenizer.stepwise_numbers == "reversed"
    assert again.encode([("What is $12 \\times 4$?", ["$12 \\times 4 = 48$."])])[0].input_ids == enc.input_ids


def test_a_version_may_read_any_backbone_digit_by_digit(micro_bert, tmp_path):
    """`model.numbers` overrides the backbone's own way (here: a micro BERT with whole-number tokens)."""
    plain = heads.build(str(micro_bert), heads.ModelOptions(), new_head=True, max_length=64, seed=0)
    split = heads.build(str(micro_bert), heads.model_options_of({"numbers": "digits"}), new_head=True,
                        max_length=64, seed=0)
    assert numbers_of(micro_bert) == "as_written" and plain.tokenizer.stepwise_numbers == "as_written"
    items = [("Compute $56 + 5$.", ["$56 + 5 = 61$."])]
    assert len(split.encode(items)[0].input_ids) > len(plain.encode(items)[0].input_ids)
    split.save(tmp_path / "v")
    assert backbone.load_tokenizer(tmp_path / "v").stepwise_numbers == "digits"
    with pytest.raises(ValueError, match="model.numbers"):
        heads.model_options_of({"numbers": "roman"})


def test_train_prm_passes_numbers_on():
    import argparse

    from activelearn.cli.model_options import add_model_arguments, model_from

    parser = argparse.ArgumentParser()
    add_model_arguments(parser, training=True)
    assert model_from(vars(parser.parse_args(["--numbers", "reversed"]))) == {"numbers": "reversed"}
    assert model_from(vars(parser.parse_args([]))) is None
