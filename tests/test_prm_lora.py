"""LoRA (peft) on a frozen backbone, for both heads: only the adapters (and a new head) learn; a version
saved merged or as adapters loads and scores as the trained model did; gradient checkpointing trains;
bf16 only where the hardware has it."""
import json

import numpy as np
import pytest
import torch

from activelearn.prm import heads, loading
from activelearn.prm.causal import CausalRewardModel
from activelearn.prm.training import TrainConfig, train

from .causal_models import build_causal_lm, toy_items

LORA = {"r": 8, "alpha": 16, "dropout": 0.0}


@pytest.fixture(scope="module")
def causal_llama(tmp_path_factory):
    return build_causal_lm(tmp_path_factory.mktemp("lora-llama"), "llama", hidden=64)


def _frozen_weight(rm):
    return next(p for n, p in rm.model.named_parameters() if "lora_" not in n and "classifier" not in n)


@pytest.mark.parametrize(("arch", "head"), [("micro_bert", "token_classification"), ("causal_llama", "causal_lm")])
@pytest.mark.parametrize("save_adapters", [False, True])
def test_a_lora_version_trains_only_adapters_and_round_trips(arch, head, save_adapters, request, tmp_path):
    base = str(request.getfixturevalue(arch))
    opts = heads.model_options_of({"head": head, "lora": LORA, "save_adapters": save_adapters})
    rm = heads.build(base, opts, new_head=True, max_length=256, seed=0)
    trainable = sum(p.numel() for p in rm.model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in rm.model.parameters())
    assert 0 < trainable < total / 3
    frozen_before = _frozen_weight(rm).detach().clone()
    items, labels = toy_items()
    logs = []
    train(rm, rm.encode(items[:8], labels[:8]), [], tmp_path / "w",
          TrainConfig(max_steps=40, batch_size=8, learning_rate=1e-2, warmup_ratio=0.0), progress=logs.append)
    losses = [e["loss"] for e in logs if "loss" in e]
    assert losses[-1] < losses[0] * 0.7
    assert torch.equal(_frozen_weight(rm).detach(), frozen_before), "the backbone stays frozen"
    before = rm.step_probs(items)
    heads.save(rm, tmp_path / "saved", opts, base, kind="prm", version=1)
    files = {p.name for p in (tmp_path / "saved").iterdir()}
    meta = json.loads((tmp_path / "saved" / "stepwise.json").read_text())
    if save_adapters:
        assert "adapter_model.safetensors" in files and "model.safetensors" not in files and meta["adapter"]
    else:
        assert "model.safetensors" in files and "adapter_config.json" not in files and meta["merged"]
    again = loading.load(tmp_path / "saved")
    assert isinstance(again, CausalRewardModel) == (head == "causal_lm")
    for a, b in zip(before, again.step_probs(items), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_gradient_checkpointing_trains_the_same_model(causal_llama, tmp_path):
    """Checkpointing trades compute for memory; the gradients, and so the trained model, are the same."""
    items, labels = toy_items()
    probs = []
    for checkpointing in (False, True):
        opts = heads.model_options_of({"head": "causal_lm", "lora": LORA, "gradient_checkpointing": checkpointing})
        rm = heads.build(str(causal_llama), opts, new_head=True, max_length=256, seed=0)
        assert rm.training_overrides.get("activation_checkpointing", False) == checkpointing
        train(rm, rm.encode(items[:8], labels[:8]), [], tmp_path / f"w{checkpointing}",
              TrainConfig(max_steps=5, batch_size=4, learning_rate=1e-2, warmup_ratio=0.0))
        probs.append(rm.step_probs(items[:6]))
    for a, b in zip(*probs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_bf16_only_where_the_hardware_has_it(causal_llama):
    opts = heads.model_options_of({"head": "causal_lm", "lora": LORA})
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        assert heads._bf16_weights(opts) == torch.bfloat16
    else:
        assert heads._bf16_weights(opts) is None
        rm = heads.build(str(causal_llama), opts, new_head=True, max_length=128, seed=0)
        assert {p.dtype for p in rm.model.parameters()} == {torch.float32}
    assert heads.training_overrides(heads.model_options_of({"bf16": "off"}))["bf16"] is False


@pytest.mark.parametrize(("value", "message"), [
    ({"lora": {"r": 0}}, "model.lora.r"),
    ({"lora": {"rank": 8}}, "unknown field"),
    ({"lora": {"dropout": 1.5}}, "model.lora.dropout"),
    ({"lora": "yes"}, "model.lora must be"),
    ({"save_adapters": True}, "needs model.lora"),
    ({"head": "value_head"}, "model.head"),
    ({"step_format": "math-shepherd"}, "causal_lm only"),
    ({"bf16": "always"}, "model.bf16"),
    ({"epochs": 3}, "unknown option"),
])
def test_bad_model_options_are_refused_naming_the_field(value, message):
    with pytest.raises(ValueError, match="model") as exc:
        heads.model_options_of(value)
    assert message in str(exc.value)
