"""Causal-LM reward models read at a step tag (the Math-Shepherd / RLHFlow shape): the reading matches
Math-Shepherd's published procedure, each shape trains, saves, loads and scores the same after the
round trip, scores are causal, the format is checked, and remote code never runs unless allowed."""
import json

import numpy as np
import pytest
import torch

from activelearn.prm import heads, loading
from activelearn.prm.causal import CausalRewardModel
from activelearn.prm.remote_code import remote_code_allowed
from activelearn.prm.step_format import StepFormat, step_format_of
from activelearn.prm.training import TrainConfig, train

from .causal_models import TAG, build_causal_lm, toy_items

CAUSAL = {"head": "causal_lm"}


@pytest.fixture(scope="module")
def causal_gpt2(tmp_path_factory):
    return build_causal_lm(tmp_path_factory.mktemp("causal-gpt2"), "gpt2")


@pytest.fixture(scope="module")
def causal_llama(tmp_path_factory):
    return build_causal_lm(tmp_path_factory.mktemp("causal-llama"), "llama")


def test_a_public_prm_is_read_as_math_shepherd_reads_it(causal_gpt2):
    """Math-Shepherd's model card: "{question} Step 1: ... ки\\nStep 2: ... ки", logits of `+`/`-` at the
    tag's positions, softmax, P(+). Our reading of the same model, unchanged, gives the same numbers."""
    rm = CausalRewardModel.from_backbone(causal_gpt2, "math-shepherd")
    assert len(rm.tokenizer) == len(build_tokenizer(causal_gpt2)), "a public model's vocabulary is never changed"
    items, _ = toy_items()
    ours = rm.step_probs(items[:5], batch_size=3)
    tok, model = rm.tokenizer, rm.model
    tag_id, plus, minus = tok.convert_tokens_to_ids(TAG), tok.convert_tokens_to_ids("+"), tok.convert_tokens_to_ids("-")
    for (problem, steps), probs in zip(items[:5], ours, strict=True):
        text = f"{problem} " + "".join(f"Step {i}: {s} {TAG}\n" for i, s in enumerate(steps, 1))
        ids = torch.tensor([tok.encode(text)])
        with torch.no_grad():
            p_plus = model(ids).logits[0][:, [plus, minus]].softmax(-1)[:, 0]
        reference = p_plus[ids[0] == tag_id].numpy()
        assert probs.shape == (len(steps), 3) and np.all(probs[:, 1] == 0)
        np.testing.assert_allclose(probs[:, 2], reference, atol=1e-5)
        np.testing.assert_allclose(probs[:, 0] + probs[:, 2], 1.0, atol=1e-6)


def build_tokenizer(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


@pytest.mark.parametrize("arch", ["causal_gpt2", "causal_llama"])
def test_each_causal_shape_trains_saves_loads_and_scores_the_same(arch, request, tmp_path):
    path = request.getfixturevalue(arch)
    opts = heads.model_options_of(CAUSAL)
    rm = heads.build(str(path), opts, new_head=True, max_length=256, seed=0)
    assert rm.tokenizer.convert_tokens_to_ids("<|step|>") != rm.tokenizer.unk_token_id  # the tag, added for training
    items, labels = toy_items()
    logs = []
    train(rm, rm.encode(items[:8], labels[:8]), [], tmp_path / "w",
          TrainConfig(max_steps=50, batch_size=8, learning_rate=5e-3, warmup_ratio=0.0), progress=logs.append)
    losses = [e["loss"] for e in logs if "loss" in e]
    assert losses[-1] < losses[0] * 0.5
    predicted = [list(np.where(p[:, 2] > 0.5, 2, 0)) for p in rm.step_probs(items[:8])]
    assert predicted == labels[:8], "a handful of examples must be learnt by heart"
    heads.save(rm, tmp_path / "saved", opts, str(path), kind="prm", version=1)
    meta = json.loads((tmp_path / "saved" / "stepwise.json").read_text())
    assert meta["head"] == "causal_lm" and meta["step_format"]["tag"] == "<|step|>"
    again = loading.load(tmp_path / "saved")
    assert isinstance(again, CausalRewardModel)
    for a, b in zip(rm.step_probs(items), again.step_probs(items), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    scores = again.score(items[:4])
    assert all(0 <= s <= 1 and len(steps) == len(items[i][1]) for i, (s, steps) in enumerate(scores))


def test_causal_step_scores_do_not_depend_on_later_steps(causal_llama):
    rm = CausalRewardModel.from_backbone(causal_llama, "stepwise")
    problem = "What is 2 + 3?"
    a = rm.step_probs([(problem, ["2 + 3 = 5.", "So the answer is 5."])])[0]
    b = rm.step_probs([(problem, ["2 + 3 = 5.", "Therefore it is 6, clearly wrong."])])[0]
    np.testing.assert_allclose(a[0], b[0], atol=1e-6)
    assert not np.allclose(a[1], b[1])


def test_long_solutions_keep_every_step_scored(causal_gpt2):
    rm = CausalRewardModel.from_backbone(causal_gpt2, "math-shepherd", max_length=64)
    steps = [f"We add {i} and {i + 1} to get {2 * i + 1}, which we keep for later." for i in range(6)]
    (enc,) = rm.encode([("A long problem statement " * 10 + "What is it?", steps)], [[2] * 6])
    assert len(enc.input_ids) <= 64 and len(enc.sep_positions) == 6
    assert [enc.labels[p] for p in enc.sep_positions] == [2] * 6


def test_neutral_trains_as_the_format_says(causal_gpt2):
    items = [("1 + 1?", ["It is 2.", "Good.", "Done."])]
    good = CausalRewardModel.from_backbone(causal_gpt2, "stepwise").encode(items, [[2, 1, 0]])[0]
    bad = CausalRewardModel.from_backbone(causal_gpt2, {"neutral_as": "bad"}).encode(items, [[2, 1, 0]])[0]
    assert [good.labels[p] for p in good.sep_positions] == [2, 2, 0]
    assert [bad.labels[p] for p in bad.sep_positions] == [2, 0, 0]


@pytest.mark.parametrize(("value", "message"), [
    ({"step": "{step} {tag}\n"}, "{read} exactly once"),
    ({"step": "{step} {oops}{read}"}, "unknown placeholder"),
    ({"prefix": "no problem here"}, "{problem} exactly once"),
    ({"good": "+", "bad": "+"}, "must differ"),
    ({"neutral_as": "maybe"}, "neutral_as"),
    ({"colour": "red"}, "unknown field"),
    ("deepseek", "unknown preset"),
])
def test_a_bad_step_format_is_refused_naming_the_field(value, message):
    with pytest.raises(ValueError, match="step_format") as exc:
        step_format_of(value)
    assert message in str(exc.value)


def test_good_and_bad_must_be_one_token(causal_gpt2):
    with pytest.raises(ValueError, match="step_format.good.*not one"):
        CausalRewardModel.from_backbone(causal_gpt2, {"good": "correct and verified"})
    rm = CausalRewardModel.from_backbone(causal_gpt2, {"good": "id:11", "bad": "-"})
    assert rm.good_id == 11


def test_presets_render_where_the_score_is_read():
    text, reads = step_format_of("math-shepherd").render("Q?", ["a", "b"])
    assert text == f"Q? Step 1: a {TAG}\nStep 2: b {TAG}\n"
    assert [text[r - len(TAG):r] for r in reads] == [TAG, TAG]
    text, reads = step_format_of("rlhflow").render("Q?", ["a"])
    assert text[reads[0]:].startswith("+<|eot_id|>") and text.startswith("<|begin_of_text|>")
    assert StepFormat().render("{step}", ["{problem}"])[0] == "{step}\n{problem} <|step|>\n"  # texts are not templates


def test_remote_code_runs_only_for_a_backbone_the_operator_allowed(tmp_path, settings, causal_gpt2):
    """A checkpoint whose config points at its own Python: refused (the code never runs) unless its backbone
    is named in PRM_TRUST_REMOTE_CODE."""
    import shutil

    ckpt = tmp_path / "remote"
    shutil.copytree(causal_gpt2, ckpt)
    marker = tmp_path / "ran"
    (ckpt / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n"
                                           "from transformers import GPT2LMHeadModel as EvilModel\n")
    config = json.loads((ckpt / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilModel"}
    (ckpt / "config.json").write_text(json.dumps(config))
    settings.PRM_ALLOWED_BACKBONES, settings.PRM_TRUST_REMOTE_CODE = [f"evil={ckpt}"], []
    assert not remote_code_allowed(str(ckpt))
    opts = heads.model_options_of({**CAUSAL, "trust_remote_code": True})  # never taken from input
    assert opts.trust_remote_code is False
    rm = heads.build(str(ckpt), opts, new_head=True, max_length=128, seed=0)
    assert type(rm.model).__name__ == "GPT2LMHeadModel" and not marker.exists()
    settings.PRM_TRUST_REMOTE_CODE = ["evil"]
    assert remote_code_allowed(str(ckpt))
    opts.trust_remote_code = True
    heads.build(str(ckpt), opts, new_head=True, max_length=128, seed=0)
    assert marker.exists(), "with the operator's permission the checkpoint's own code is what loads"
    settings.PRM_TRUST_REMOTE_CODE = ["not-listed"]
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="PRM_TRUST_REMOTE_CODE"):
        remote_code_allowed(str(ckpt))


@pytest.fixture
def pb_labels(shared_data, tmp_path):
    """30 ProcessBench GSM8K records with their human labels, as labelled passes."""
    import orjson

    from .helpers import run

    data = json.loads((shared_data / "processbench" / "gsm8k.json").read_text())
    (tmp_path / "train.json").write_bytes(orjson.dumps(data[:30]))
    run("import_solutions", str(tmp_path / "train.json"))


@pytest.mark.django_db
def test_a_causal_version_registers_scores_and_labels_like_any_other(pb_labels, causal_gpt2, model_dir):
    from activelearn.labellers import runs as label_runs
    from activelearn.models import SolutionScore
    from activelearn.prm import registry
    from activelearn.prm.scoring import score_solutions
    from labeling.models import Solution, StepLabels

    fast = TrainConfig(max_steps=4, batch_size=8, max_length=256, val_fraction=0.25, learning_rate=1e-3)
    v1 = registry.train_version(base=str(causal_gpt2), cfg=fast, model={**CAUSAL, "step_format": "math-shepherd"})
    assert v1.status == "ready" and v1.is_active and v1.hyperparameters["model"]["head"] == "causal_lm"
    assert v1.hyperparameters["model"]["step_format"]["tag"] == TAG and "step_auroc" in v1.metrics["validation"]
    v2 = registry.train_version(init_from=v1, cfg=fast)  # fine-tuning keeps the parent's shape
    assert v2.hyperparameters["model"] == v1.hyperparameters["model"] and isinstance(
        loading.load(v2.path), CausalRewardModel)
    assert score_solutions(v2, chunk=7) == Solution.objects.count()
    s = SolutionScore.objects.filter(model_version=v2).first()
    assert 0 <= s.score <= 1 and len(s.step_scores) == len(s.solution.steps)
    run = label_runs.start_run("prm-causal", "prm", {"threshold": 0.5}, {})
    assert run.params["model_version"] == v2.pk
    assert label_runs.run_chunk(run, run.params["solution_ids"][:5]) == 5
    assert StepLabels.objects.filter(run=run, malformed=False).count() == 5
