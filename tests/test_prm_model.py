"""The reward model: separators, causal scores, training, save/load, truncation."""
import numpy as np
import pytest

from activelearn.prm import backbone
from activelearn.prm.encoding import IGNORE
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.text import normalize
from activelearn.prm.training import TrainConfig, train

PROBLEM = "Compute $7 \\times 8 + 5$."
STEPS = ["First, $7 \\times 8 = 56$.", "Then $56 + 5 = 61$.", "So the answer is 61.\n\n# Answer\n\n61"]


def _fresh(path, max_length=256, seed=0) -> RewardModel:
    tok = backbone.load_tokenizer(path)
    return RewardModel(backbone.load_model(path, tok, new_head=True, seed=seed), tok, max_length)


def test_step_separator_is_one_special_token_and_math_symbols_survive(micro_bert):
    rm = _fresh(micro_bert)
    tokens = rm.tokenizer.tokenize(f"a {backbone.STEP_TOKEN} b")
    assert backbone.STEP_TOKEN in tokens
    (enc,) = rm.encode([(PROBLEM, STEPS)])
    step_id = rm.tokenizer.convert_tokens_to_ids(backbone.STEP_TOKEN)
    assert [enc.input_ids[p] for p in enc.sep_positions] == [step_id] * 3
    assert enc.input_ids.count(step_id) == 3
    assert normalize("x ≠ 2, y ≤ 3·4") == "x  \\neq  2, y  \\leq  3 \\cdot 4"


@pytest.mark.parametrize("arch", ["micro_bert", "micro_gpt2"])
def test_micro_tokenizers_read_words_not_unknowns(arch, request):
    tok = backbone.load_tokenizer(request.getfixturevalue(arch))
    ids = tok("The total is $12 + 54 = 66$ dollars.", add_special_tokens=False)["input_ids"]
    assert len(tok) > 300 and tok.unk_token_id not in ids, tok.convert_ids_to_tokens(ids)


def test_a_micro_backbone_is_the_same_for_the_same_corpus_and_seed(tmp_path):
    from activelearn.prm.micro import build_micro_backbone

    corpus = [f"the total is {a} + {b} = {a + b} dollars" for a in range(30) for b in range(5)]
    one, two = (build_micro_backbone(tmp_path / name, corpus, "bert", vocab_size=120) for name in "ab")
    assert (one / "vocab.txt").read_text() == (two / "vocab.txt").read_text()
    assert (one / "model.safetensors").read_bytes() == (two / "model.safetensors").read_bytes()


def test_a_digit_micro_backbone_reads_numbers_digit_by_digit(tmp_path):
    from activelearn.prm.micro import build_micro_backbone

    corpus = [f"the total is {a} + {b} = {a + b} dollars" for a in range(30) for b in range(5)]
    words = backbone.load_tokenizer(build_micro_backbone(tmp_path / "w", corpus, "bert", vocab_size=120))
    digits = backbone.load_tokenizer(build_micro_backbone(tmp_path / "d", corpus, "bert", vocab_size=120,
                                                          digits=True))
    assert words.tokenize("12 + 4 = 16 dollars")[0] == "12"
    assert digits.tokenize("12 + 4 = 16 dollars") == ["1", "##2", "+", "4", "=", "1", "##6", "dollars"]


def test_default_backbone_keeps_not_equal(settings):
    tok = backbone.load_tokenizer(backbone.default_base_model())
    assert "=" in tok.tokenize("≠")  # the reason for the mapping: lowercasing/accents strip ≠ to =
    mapped = tok.tokenize(normalize("a ≠ b"))
    assert "=" not in mapped and mapped != tok.tokenize("a = b")


@pytest.mark.parametrize("arch", ["micro_bert", "micro_gpt2", "default"])
def test_step_scores_do_not_depend_on_later_steps(arch, request):
    path = backbone.default_base_model() if arch == "default" else request.getfixturevalue(arch)
    rm = _fresh(path)
    other = STEPS[:1] + ["Then $56 + 5 = 62$, clearly, by a completely different argument."] + STEPS[2:]
    a, b = rm.step_probs([(PROBLEM, STEPS), (PROBLEM, other)])
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)  # step 1 is blind to step 2's change
    assert not np.allclose(a[1], b[1], atol=1e-5)  # the changed step's own score moves


def test_bidirectional_encoder_without_causal_mode_is_refused():
    from transformers import DistilBertConfig

    with pytest.raises(ValueError, match="bidirectional"):
        backbone.make_causal(DistilBertConfig())


def test_labels_sit_on_separators_only(micro_bert):
    rm = _fresh(micro_bert)
    (enc,) = rm.encode([(PROBLEM, STEPS)], [[2, None, 0]])
    assert [enc.labels[p] for p in enc.sep_positions] == [2, IGNORE, 0]
    assert sum(label != IGNORE for label in enc.labels) == 2


def test_truncation_keeps_every_step_scored(micro_bert):
    rm = _fresh(micro_bert, max_length=64)
    long_steps = [f"step {i}: " + "seven times eight is fifty six " * 20 for i in range(6)]
    (enc,) = rm.encode([(PROBLEM * 10, long_steps)])
    assert len(enc.input_ids) <= 64 and len(enc.sep_positions) == 6
    (probs,) = rm.step_probs([(PROBLEM * 10, long_steps)])
    assert probs.shape == (6, 3)


def _toy_items():
    from labeling.demo.problems import generate

    items, labels = [], []
    for p in generate(6, 4, seed=3):
        for sol in p.solutions:
            k = len(sol.steps) if sol.first_error is None else sol.first_error + 1
            items.append((p.text, sol.steps[:k]))
            labels.append([2] * (k - 1) + [2 if sol.first_error is None else 0])
    return items, labels


def test_training_lowers_loss_and_overfits_a_handful(micro_bert, tmp_path):
    items, labels = _toy_items()
    items, labels = items[:8], labels[:8]
    rm = _fresh(micro_bert)
    rows = rm.encode(items, labels)
    cfg = TrainConfig(max_steps=150, batch_size=8, learning_rate=3e-3, warmup_ratio=0.0, seed=0)
    logs = []
    result = train(rm, rows, [], tmp_path / "work", cfg, progress=logs.append)
    losses = [entry["loss"] for entry in logs if "loss" in entry]
    assert losses[-1] < losses[0] * 0.5
    probs = rm.step_probs(items)
    predicted = [list(np.argmax(p, axis=1)) for p in probs]
    assert predicted == labels, "a handful of examples must be learnt by heart"
    assert result["global_step"] == 150


def test_training_is_reproducible(micro_bert, tmp_path):
    items, labels = _toy_items()
    scores = []
    for run in range(2):
        rm = _fresh(micro_bert)
        train(rm, rm.encode(items[:8], labels[:8]), [], tmp_path / f"w{run}",
              TrainConfig(max_steps=10, batch_size=4, seed=7))
        scores.append(rm.step_probs(items[:4]))
    for a, b in zip(*scores, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_save_load_round_trip_gives_identical_scores(micro_bert, tmp_path):
    rm = _fresh(micro_bert)
    items, labels = _toy_items()
    train(rm, rm.encode(items[:8], labels[:8]), [], tmp_path / "w", TrainConfig(max_steps=5, batch_size=4))
    rm.save(tmp_path / "saved")
    again = RewardModel.load(tmp_path / "saved")
    for a, b in zip(rm.step_probs(items), again.step_probs(items), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert again.max_length == rm.max_length


def test_solution_score_is_product_of_step_scores(micro_bert):
    rm = _fresh(micro_bert)
    (probs,) = rm.step_probs([(PROBLEM, STEPS)])
    ((score, steps),) = rm.score([(PROBLEM, STEPS)])
    assert steps == pytest.approx([p[1] + p[2] for p in probs])
    assert score == pytest.approx(float(np.prod([p[1] + p[2] for p in probs])))
    ((score_min, _),) = rm.score([(PROBLEM, STEPS)], aggregate="min")
    assert score_min == pytest.approx(min(p[1] + p[2] for p in probs))
    ((score_neg, _),) = rm.score([(PROBLEM, STEPS)], neutral="negative")
    assert score_neg == pytest.approx(float(np.prod([p[2] for p in probs])))


def test_batched_scores_equal_one_by_one(micro_bert):
    rm = _fresh(micro_bert)
    items, _ = _toy_items()
    batched = rm.step_probs(items, batch_size=16)
    for item, expected in zip(items[:6], batched, strict=False):
        (alone,) = rm.step_probs([item], batch_size=1)
        np.testing.assert_allclose(alone, expected, atol=1e-5)
