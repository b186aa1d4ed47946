"""Training a reward model with transformers' Trainer.

Own tokenisation (encoding.py) and collator; fp32 on CPU, bf16 when a GPU supports it
(and several GPUs through accelerate, which Trainer uses); seeded; early stopping on
the validation loss; progress reported through a callback.
"""
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from activelearn.prm.encoding import Encoded


@dataclass
class TrainConfig:
    epochs: float = 3.0
    max_steps: int = -1
    batch_size: int = 8
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 0
    max_length: int = 512
    patience: int = 2
    val_fraction: float = 0.1
    evals_per_epoch: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


class _Dataset:
    def __init__(self, rows: list[Encoded]):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def _progress_callback(report: Callable[[dict], None]):
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            report({"step": state.global_step, "max_steps": state.max_steps, "epoch": state.epoch, **(logs or {})})

    return Report()


def _trainer_class():
    """Trainer with a loss towards class distributions with per-sequence weights, used when a batch
    carries them (soft or weighted automatic labels); plain cross-entropy otherwise."""
    import torch
    from transformers import Trainer

    class SoftTargetTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            probs, weight = inputs.get("target_probs"), inputs.get("target_weight")
            if probs is None:
                plain = {k: v for k, v in inputs.items() if k not in ("target_probs", "target_weight")}
                return super().compute_loss(model, plain, return_outputs, num_items_in_batch)
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
            logp = torch.log_softmax(outputs.logits.float(), dim=-1)
            per_position = -(probs * logp).sum(-1) * weight
            loss = per_position.sum() / weight.sum().clamp_min(1e-8)
            return (loss, outputs) if return_outputs else loss

    return SoftTargetTrainer


def train(reward_model, train_rows: list[Encoded], val_rows: list[Encoded], work_dir: str | Path,
          cfg: TrainConfig, progress: Callable[[dict], None] | None = None) -> dict:
    """Train `reward_model.model` in place; returns the training history summary."""
    import torch
    from transformers import EarlyStoppingCallback, TrainingArguments, set_seed

    set_seed(cfg.seed)
    cuda = torch.cuda.is_available()
    steps_per_epoch = max(1, math.ceil(len(train_rows) / cfg.batch_size))
    eval_every = max(1, steps_per_epoch // max(1, cfg.evals_per_epoch))
    total = cfg.max_steps if cfg.max_steps > 0 else math.ceil(cfg.epochs * steps_per_epoch)
    if cfg.max_steps > 0:
        eval_every = min(eval_every, max(1, cfg.max_steps // 2))
    args = TrainingArguments(**{**dict(
        output_dir=str(work_dir), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size * 2,
        learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay, warmup_steps=int(cfg.warmup_ratio * total),
        eval_strategy="steps" if val_rows else "no", eval_steps=eval_every, save_strategy="steps" if val_rows else "no",
        save_steps=eval_every, save_total_limit=1, load_best_model_at_end=bool(val_rows),
        metric_for_best_model="eval_loss", greater_is_better=False, logging_steps=max(1, eval_every // 4),
        seed=cfg.seed, data_seed=cfg.seed, bf16=cuda and torch.cuda.is_bf16_supported(), use_cpu=not cuda,
        report_to=[], remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=True,
    ), **getattr(reward_model, "training_overrides", {})})  # a head's or LoRA's own options: heads.py
    callbacks = [EarlyStoppingCallback(early_stopping_patience=cfg.patience)] if val_rows else []
    if progress:
        callbacks.append(_progress_callback(progress))
    trainer_class = getattr(reward_model, "trainer_class", None) or _trainer_class()  # its own loss: causal.py
    trainer = trainer_class(model=reward_model.model, args=args, train_dataset=_Dataset(train_rows),
                      eval_dataset=_Dataset(val_rows) if val_rows else None,
                      data_collator=reward_model.collate, callbacks=callbacks)
    if progress:
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # the caller reports progress its own way
    result = trainer.train()
    reward_model.model = trainer.model.eval()
    history = [h for h in trainer.state.log_history if "loss" in h or "eval_loss" in h]
    return {"train_loss": result.training_loss, "global_step": result.global_step,
            "best_eval_loss": trainer.state.best_metric, "history": history}
