"""Checkpoints from elsewhere: the labels exported as OpenRLHF's PRM trainer reads them, a model trained on
that file the way its ProcessRewardDataset describes (placeholder positions, reward tokens), brought back
with `register_model`, validated, and activated only when asked."""
import json

import numpy as np
import orjson
import pytest
import torch
from django.core.management.base import CommandError

from activelearn.models import ModelVersion
from activelearn.prm import loading, registry
from activelearn.prm.causal import CausalRewardModel
from activelearn.prm.training_data import prm_items
from labeling.models import LabeledPass

from .causal_models import TAG, build_causal_lm
from .helpers import run

pytestmark = pytest.mark.django_db
MAX_LEN = 500  # the micro model's positions (512); OpenRLHF truncates to --max_len the same way


@pytest.fixture
def labelled(shared_data, tmp_path):
    data = json.loads((shared_data / "processbench" / "gsm8k.json").read_text())
    (tmp_path / "train.json").write_bytes(orjson.dumps(data[:40]))
    run("import_solutions", str(tmp_path / "train.json"))


@pytest.fixture
def causal_gpt2(tmp_path):
    return build_causal_lm(tmp_path / "causal-gpt2", "gpt2")


def cmd(*args) -> str:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _export(tmp_path, *args) -> list[dict]:
    out = tmp_path / "openrlhf.jsonl"
    cmd("export_openrlhf", str(out), *args)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_the_export_is_what_openrlhfs_prm_dataset_reads(labelled, tmp_path, causal_gpt2):
    rows = _export(tmp_path)
    items = list(prm_items(LabeledPass.objects.all()))
    assert len(rows) == len(items) == 40
    tok = CausalRewardModel.from_backbone(causal_gpt2, "math-shepherd").tokenizer
    tag_id = tok.convert_tokens_to_ids(TAG)
    for row, item in zip(rows, items, strict=True):
        assert set(row) == {"input", "value"} and set(row["value"]) <= {"+", "-"}
        assert "-" not in row["value"][:-1], "nothing after the first error"
        assert len(row["value"]) == len(item.labels)
        assert row["input"].count(TAG) == len(row["value"])
        # OpenRLHF tokenizes the text without special tokens and puts label i at the i-th placeholder token
        assert tok(row["input"], add_special_tokens=False)["input_ids"].count(tag_id) == len(row["value"])
        assert row["value"] == ["+" if c == 2 or c == 1 else "-" for c in item.labels]
    negative = _export(tmp_path, "--neutral", "negative")
    assert sum(r["value"].count("-") for r in negative) >= sum(r["value"].count("-") for r in rows)
    with pytest.raises(CommandError, match="placeholder"):
        cmd("export_openrlhf", str(tmp_path / "x.jsonl"), "--step-format", '{"preset": "rlhflow"}')


def _train_like_openrlhf(path, rows, steps=30):
    """A stand-in for `openrlhf.cli.train_prm --placeholder_token ки --reward_tokens + -`: each row tokenized as
    it is, the logits at the placeholders pushed toward the row's reward tokens (cross-entropy over the two)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok, model = AutoTokenizer.from_pretrained(str(path)), AutoModelForCausalLM.from_pretrained(str(path))
    tag, plus, minus = (tok.convert_tokens_to_ids(t) for t in (TAG, "+", "-"))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    rows = [r for r in rows if len(tok(r["input"], add_special_tokens=False)["input_ids"]) <= MAX_LEN]
    for step in range(steps):
        row = rows[step % len(rows)]
        ids = torch.tensor([tok(row["input"], add_special_tokens=False)["input_ids"]])
        at = ids[0] == tag
        target = torch.tensor([0 if v == "+" else 1 for v in row["value"]])
        logits = model(ids).logits[0, at][:, [plus, minus]]
        loss = torch.nn.functional.cross_entropy(logits, target)
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    out = path.parent / "trained-elsewhere"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out, model, tok


def test_a_checkpoint_trained_elsewhere_is_registered_validated_and_activated_only_when_asked(
        labelled, tmp_path, causal_gpt2, model_dir):
    before = registry.train_version(base=str(causal_gpt2), model={"head": "causal_lm"},
                                    cfg=_fast())  # the project's own active version
    rows = _export(tmp_path)
    ckpt, model, tok = _train_like_openrlhf(causal_gpt2, rows)
    cmd("register_model", str(ckpt), "--step-format", "math-shepherd")
    version = ModelVersion.objects.exclude(pk=before.pk).get()
    assert version.status == "ready" and not version.is_active and registry.active_version() == before
    assert version.hyperparameters["model"]["head"] == "causal_lm" and version.hyperparameters["registered"]
    val = version.metrics["validation"]
    assert val["n_steps"] > 0 and 0 <= val["step_auroc"] <= 1 and version.metrics["registered"]["from"] == ckpt.name
    rm = loading.load(version.path)
    assert isinstance(rm, CausalRewardModel)
    # scored here exactly where it was trained: P(+) at each placeholder of the exported text
    tag, plus, minus = (tok.convert_tokens_to_ids(t) for t in (TAG, "+", "-"))
    pairs = [(i, r) for i, r in zip(prm_items(LabeledPass.objects.all()), rows, strict=True)
             if len(tok(r["input"], add_special_tokens=False)["input_ids"]) <= MAX_LEN][:5]
    ours = rm.step_probs([(i.problem, i.steps[:len(i.labels)]) for i, _ in pairs])
    assert len(pairs) == 5
    for (_, row), probs in zip(pairs, ours, strict=True):
        ids = torch.tensor([tok(row["input"], add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            p = model(ids).logits[0, ids[0] == tag][:, [plus, minus]].softmax(-1)[:, 0].numpy()
        np.testing.assert_allclose(probs[:, 2], p, atol=1e-5)
    cmd("register_model", str(ckpt), "--activate")  # the shape from the architecture: math-shepherd by default
    latest = ModelVersion.objects.order_by("-pk").first()
    assert latest.is_active and registry.active_version() == latest


def _fast():
    from activelearn.prm.training import TrainConfig

    return TrainConfig(max_steps=2, batch_size=8, max_length=256, val_fraction=0.25)


def test_what_is_not_a_checkpoint_is_refused_before_anything_is_written(tmp_path, micro_bert, model_dir):
    with pytest.raises(CommandError, match="not a directory"):
        cmd("register_model", str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no config.json"):
        cmd("register_model", str(tmp_path / "empty"))
    with pytest.raises(CommandError, match="needs 3 labels"):  # a bare backbone is no reward model
        cmd("register_model", str(micro_bert), "--head", "token_classification")
    assert not ModelVersion.objects.filter(status="ready").exists()
    assert ModelVersion.objects.filter(status="failed").count() == 1  # loaded, and found wanting: on record


def test_the_api_registers_a_configured_checkpoint_by_name_only(eager, ml, settings, causal_gpt2, model_dir):
    settings.PRM_ALLOWED_BACKBONES = [f"elsewhere={causal_gpt2}"]
    url = "/api/models/register/"
    for body, field in (({"checkpoint": str(causal_gpt2)}, "checkpoint"), ({"checkpoint": "unknown"}, "checkpoint"),
                        ({"checkpoint": "elsewhere", "step_format": "nonsense"}, "step_format")):
        r = ml.post(url, body, content_type="application/json")
        assert r.status_code == 400 and r.json()["field"] == field, r.content
        assert str(causal_gpt2) not in r.content.decode()
    assert not ModelVersion.objects.exists()
    r = ml.post(url, {"checkpoint": "elsewhere", "step_format": "math-shepherd"}, content_type="application/json")
    assert r.status_code == 202, r.content
    version = ModelVersion.objects.get(pk=r.json()["id"])
    assert version.status == "ready" and not version.is_active  # eager: the worker's part has run
    assert str(causal_gpt2) not in r.content.decode() and r.json()["base_model"] == "elsewhere"
    r = ml.post(url, {"checkpoint": "elsewhere", "activate": True}, content_type="application/json")
    assert ModelVersion.objects.get(pk=r.json()["id"]).is_active
