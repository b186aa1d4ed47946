"""The registry of trained versions (write side): train and register a version, activate it."""
import logging
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from activelearn.models import ModelKind, ModelVersion
from activelearn.prm import backbone, fit, heads, label_mix, loading, metrics, training_data, validation_sets
from activelearn.prm.label_mix import LabelMix
from activelearn.prm.metrics import json_safe
from activelearn.prm.remote_code import remote_code_allowed
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.training import TrainConfig, train
from labeling.models import DEFAULT_PROJECT_ID, AuditAction, LabeledPass, Solution
from labeling.people import audit

log = logging.getLogger(__name__)


def _split(items: list, cfg: TrainConfig) -> tuple[list, list]:
    train_items, val_items = [], []
    for it in items:
        (val_items if training_data.is_validation(it.group, cfg.val_fraction, cfg.seed) else train_items).append(it)
    if not train_items:  # tiny data sets: keep something to learn from
        train_items, val_items = val_items, []
    return train_items, val_items


def evaluate_items(rm: RewardModel, items: list, batch_size: int | None = None) -> dict:
    """Step-level figures on labelled items: AUROC of the step score, token accuracy, counts."""
    if not items:
        return {}
    probs = rm.step_probs([(it.problem, it.steps) for it in items], batch_size)
    scores, positives, pred, true = [], [], [], []
    for it, p in zip(items, probs, strict=True):
        for k, cls in enumerate(it.labels[:len(p)]):
            if cls is None:
                continue
            scores.append(metrics.step_score(p[k]))
            positives.append(backbone.CLASSES[cls] != -1)
            pred.append(int(np.argmax(p[k])))
            true.append(cls)
    return {"n_items": len(items), "n_steps": len(scores), "step_auroc": metrics.auroc(scores, positives),
            "token_accuracy": metrics.token_accuracy(pred, true)}


def train_version(kind: str = ModelKind.PRM, *, base: str | None = None, init_from: ModelVersion | None = None,
                  cfg: TrainConfig | None = None, neutral: str = "keep", activate: bool = True,
                  passes=None, solutions=None, labels: LabelMix | None = None,
                  progress: Callable[[dict], None] | None = None,
                  on_created: Callable[[ModelVersion], None] | None = None, actor=None,
                  project: int = DEFAULT_PROJECT_ID, model: dict | None = None,
                  validation_solutions: list[int] | None = None) -> ModelVersion:
    """Train a PRM (from labelled passes) or an ORM (from graded solutions) and register it.

    Files are written to a temporary directory and renamed into place only when complete,
    so a crash never leaves a half-written model under a version's path; the previously
    active version stays active until the new one is ready. `model`: the model's shape and memory
    options (heads.ModelOptions; a fine-tuned version keeps its parent's unless given). Its validation figures
    are measured on problems it did not train on (activelearn/prm/validation_sets.py; `validation_solutions`:
    the ones to prefer where people's labels are too few, e.g. a round's fresh samples).
    """
    cfg = cfg or TrainConfig()
    labels = labels or LabelMix()
    base = str(init_from.path if init_from else (base or backbone.default_base_model()))
    root_base = init_from.base_model if init_from else base
    opts = heads.model_options_of(model if model is not None or init_from is None
                                  else init_from.hyperparameters.get("model"))
    opts.trust_remote_code = remote_code_allowed(root_base)
    snapshot, automatic = training_data.Snapshot(), Counter()
    # a project's model learns from that project's labels only (passes/solutions given: the caller chose)
    if kind == ModelKind.PRM:
        passes = passes if passes is not None else LabeledPass.objects.filter(project_id=project)
        items = _prm_items(passes, neutral, snapshot, labels, automatic, project)
    else:
        solutions = solutions if solutions is not None else Solution.objects.filter(project_id=project)
        items = list(training_data.orm_items(solutions, snapshot))
    if not items:
        raise ValueError(f"no labelled data to train a {kind} on")
    train_items, val_items = _split(items, cfg)
    version = ModelVersion.objects.create(
        project_id=project, kind=kind, base_model=base if not init_from else init_from.base_model, parent=init_from,
        hyperparameters={**cfg.as_dict(), "neutral": neutral, **({"labels": labels.as_dict()} if kind == ModelKind.PRM
                                                                 else {}),
                         "model": opts.as_dict(), "processes": settings.PRM_TRAIN_PROCESSES},
        data_snapshot={**snapshot.as_dict(), "train_items": len(train_items), "val_items": len(val_items),
                       **({"automatic_items": dict(automatic)} if automatic else {})})
    model_dir = Path(settings.MODEL_DIR)
    model_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    work, tmp = model_dir / f".work-{version.pk}-{token}", model_dir / f".tmp-{version.pk}-{token}"
    final = model_dir / f"{kind}-v{version.pk}"
    try:
        if on_created:
            on_created(version)
        def evaluate(rm, _human_items):
            # against people's labels (automatic ones are what is being learnt, not truth), or where those are
            # too few what else there is, said so in its note
            return validation_sets.validate(rm, kind, train_items, val_items, project, validation_solutions)

        # in this process, or as `accelerate launch` processes (PRM_TRAIN_PROCESSES): fit.py
        spec = fit.spec_of(kind, base, root_base, init_from is None, cfg, opts, version.pk)
        result = fit.run(spec, train_items, val_items, work, tmp, progress, train, evaluate)
        if settings.PRM_TRAIN_PROCESSES:
            # the launched processes measured people's held-out labels only: every version carries the same figures
            result["validation"] = evaluate(loading.load(tmp), None)
        os.replace(tmp, final)
        version.status, version.path, version.metrics = ModelVersion.Status.READY, str(final), json_safe(result)
        version.finished_at = timezone.now()
        version.save(update_fields=["status", "path", "metrics", "finished_at"])
        if activate:
            activate_version(version, actor=actor)
        return version
    except BaseException as exc:
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.FAILED, error=repr(exc)[:2000],
                                                          finished_at=timezone.now())
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _prm_items(passes, neutral: str, snapshot, labels: LabelMix, automatic: Counter, project: int) -> list:
    items = []
    if labels.human_weight > 0:
        for it in training_data.prm_items(passes, neutral, snapshot):
            it.weight = labels.human_weight
            items.append(it)
    items.extend(label_mix.automatic_items(labels, automatic, project))
    return items


@transaction.atomic
def activate_version(version: ModelVersion, *, actor=None, **context) -> None:
    """Make `version` the active one of its kind in its project; recorded in the audit trail when it changes
    anything (`context`, e.g. the round, goes into the event's details)."""
    if version.status != ModelVersion.Status.READY:
        raise ValueError(f"only a ready model can be active; {version} is {version.status}")
    previous = list(ModelVersion.objects.select_for_update().filter(kind=version.kind, is_active=True,
                                                                     project_id=version.project_id)
                    .exclude(pk=version.pk).values_list("pk", flat=True))
    ModelVersion.objects.filter(pk__in=previous).update(is_active=False)
    changed = ModelVersion.objects.filter(pk=version.pk, is_active=False).update(is_active=True)
    version.is_active = True
    if changed:
        audit.record(actor, AuditAction.MODEL_ACTIVATE, version, kind=version.kind,
                     previous=previous[0] if previous else None, **context)


def active_version(kind: str = ModelKind.PRM, project: int = DEFAULT_PROJECT_ID) -> ModelVersion | None:
    """The version of `kind` that scores and selects in `project` (an id)."""
    return ModelVersion.objects.filter(kind=kind, is_active=True, project_id=project).first()
