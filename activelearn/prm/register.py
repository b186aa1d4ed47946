"""Bringing a checkpoint trained elsewhere into the registry (`register_model PATH`, the API).

The checkpoint is loaded in the shape it says or is told (a causal LM read at a step tag, e.g. what
OpenRLHF's train_prm writes, Math-Shepherd or RLHFlow; or a three-class token-classification model),
saved under MODEL_DIR as any version is, given the validation figures every version carries (on the
project's human labels of the validation split), and activated only when asked."""
import json
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from activelearn.models import ModelKind, ModelVersion
from activelearn.prm import backbone, fit, heads, training_data
from activelearn.prm.metrics import json_safe
from activelearn.prm.remote_code import remote_code_allowed
from activelearn.prm.reward_model import META_FILE, RewardModel
from activelearn.prm.training import TrainConfig
from labeling.models import DEFAULT_PROJECT_ID, LabeledPass

VALIDATE_LIMIT = 2000


def options_for(path: Path, model: dict | None) -> heads.ModelOptions:
    """The shape: as given; else as the checkpoint's stepwise.json says; else from its architecture (a
    causal LM is read in the Math-Shepherd format unless a step_format is given)."""
    if model is not None and model.get("head"):
        return heads.model_options_of(model)
    meta_file = path / META_FILE
    if meta_file.exists():
        saved = json.loads(meta_file.read_text()).get("model") or {}
        return heads.model_options_of({**{k: v for k, v in saved.items() if k in ("head", "step_format")},
                                       **(model or {})})
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    architectures = json.loads((path / "config.json").read_text()).get("architectures") or []
    causal = bool(set(architectures) & set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values()))
    head = heads.CAUSAL_LM if causal else heads.TOKEN_CLASSIFICATION
    defaults = {"step_format": "math-shepherd"} if causal else {}
    return heads.model_options_of({"head": head, **defaults, **(model or {})})


def load_checkpoint(path: Path, opts: heads.ModelOptions) -> RewardModel:
    """The checkpoint as it is: nothing added to its vocabulary, its own head."""
    if opts.head == heads.CAUSAL_LM:
        from activelearn.prm import causal
        from activelearn.prm.step_format import step_format_of

        fmt = step_format_of(opts.step_format)
        tok = causal.load_tokenizer(path, fmt, new=False, trust_remote_code=opts.trust_remote_code)
        return causal.CausalRewardModel(causal.load_lm(path, tok, trust_remote_code=opts.trust_remote_code), tok, fmt)
    config = json.loads((path / "config.json").read_text())
    n_labels = len(config.get("id2label") or {}) or config.get("num_labels")
    if n_labels != len(backbone.CLASSES):
        raise ValueError(f"{path.name}: a token-classification checkpoint needs 3 labels (-1, 0, +1), it has "
                         f"{n_labels}; a causal LM read at a step tag is registered with head causal_lm")
    tok = backbone.load_tokenizer(path)
    return RewardModel(backbone.load_model(path, tok, new_head=False), tok)


def _checked_dir(path: str) -> Path:
    src = Path(path).expanduser()
    if not src.is_dir():
        raise ValueError(f"{src.name or path}: not a directory")
    if not (src / "config.json").exists():
        hint = " (LoRA adapters: merge them into the backbone first)" if (src / "adapter_config.json").exists() else ""
        raise ValueError(f"{src.name}: no config.json, not a transformers checkpoint{hint}")
    return src.resolve()


def validation_items(project: int, limit: int = VALIDATE_LIMIT) -> list:
    """People's labels of the project's validation split (the split trained versions hold out), at most `limit`."""
    cfg = TrainConfig()
    out = []
    for item in training_data.prm_items(LabeledPass.objects.filter(project_id=project)):
        if training_data.is_validation(item.group, cfg.val_fraction, cfg.seed):
            out.append(item)
            if len(out) >= limit:
                break
    return out


def start_registration(path: str, *, kind: str = ModelKind.PRM, model: dict | None = None,
                       project: int = DEFAULT_PROJECT_ID) -> ModelVersion:
    """The version row (status training) for the checkpoint in `path`; ValueError, naming what is wrong and
    writing nothing, if it is not a checkpoint or the options are wrong."""
    src = _checked_dir(path)
    opts = options_for(src, model)
    return ModelVersion.objects.create(
        project_id=project, kind=kind, base_model=str(src),
        hyperparameters={"model": opts.as_dict(), "registered": True}, data_snapshot={"registered_from": src.name})


def finish_registration(version: ModelVersion, *, activate: bool = False, actor=None,
                        validate_limit: int = VALIDATE_LIMIT) -> ModelVersion:
    """Load, save under MODEL_DIR, validate, and activate if asked; the version marked failed, with the reason,
    if anything goes wrong (the previous active version stays active)."""
    from activelearn.prm.registry import activate_version, evaluate_items

    src = Path(version.base_model)
    opts = heads.model_options_of(version.hyperparameters["model"])
    opts.trust_remote_code = remote_code_allowed(str(src))
    model_dir = Path(settings.MODEL_DIR)
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / f".tmp-{version.pk}-{uuid.uuid4().hex[:8]}"
    final = model_dir / f"{version.kind}-v{version.pk}"
    try:
        rm = load_checkpoint(src, opts)
        heads.save(rm, tmp, opts, str(src), kind=version.kind, version=version.pk, registered_from=src.name)
        os.replace(tmp, final)
        metrics = {"validation": fit.validation_figures(rm, validation_items(version.project_id, validate_limit),
                                                        evaluate_items),
                   "registered": {"from": src.name}}
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.READY, path=str(final),
                                                          metrics=json_safe(metrics), finished_at=timezone.now())
        version.refresh_from_db()
        if activate:
            activate_version(version, actor=actor, registered_from=src.name)
        return version
    except BaseException as exc:
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.FAILED, error=repr(exc)[:2000],
                                                          finished_at=timezone.now())
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        raise


def register_checkpoint(path: str, *, kind: str = ModelKind.PRM, model: dict | None = None, activate: bool = False,
                        actor=None, project: int = DEFAULT_PROJECT_ID,
                        validate_limit: int = VALIDATE_LIMIT) -> ModelVersion:
    """Both steps at once (the command)."""
    version = start_registration(path, kind=kind, model=model, project=project)
    return finish_registration(version, activate=activate, actor=actor, validate_limit=validate_limit)
