"""The shape of a version's model and how to build, save and load each: the token-classification head
(three classes at `<|step|>`) or a causal LM read at a step tag (causal.py), either one whole or with
LoRA adapters on a frozen backbone (lora.py), with the memory options (gradient checkpointing, bf16).

ModelOptions travel as plain JSON: in a version's hyperparameters (`model`), in a launched run's job
file, and in `stepwise.json` beside the weights, which is what loading reads.
"""
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from activelearn.prm import backbone
from activelearn.prm.reward_model import META_FILE, RewardModel
from activelearn.prm.text import NUMBERS

TOKEN_CLASSIFICATION = "token_classification"
CAUSAL_LM = "causal_lm"
HEADS = (TOKEN_CLASSIFICATION, CAUSAL_LM)
BF16 = ("auto", "off")


@dataclass
class ModelOptions:
    head: str = TOKEN_CLASSIFICATION
    step_format: dict | str | None = None  # causal_lm: a preset name or StepFormat fields (step_format.py)
    lora: dict | None = None  # {"r", "alpha", "dropout", "target_modules"}: adapters on a frozen backbone
    save_adapters: bool = False  # LoRA: save the adapters alone (else the merged weights)
    gradient_checkpointing: bool = False
    bf16: str = "auto"  # "auto": bf16 where the GPU has it (a LoRA backbone's frozen weights in bf16 too)
    trust_remote_code: bool = False  # set by the caller from PRM_TRUST_REMOTE_CODE, never from input
    numbers: str | None = None  # how numbers are written before tokenising (text.py's NUMBERS); None: the backbone's

    def as_dict(self) -> dict:
        out = asdict(self)
        if self.head == CAUSAL_LM:
            from activelearn.prm.step_format import step_format_of

            out["step_format"] = step_format_of(self.step_format).as_dict()
        return out


def model_options_of(value) -> ModelOptions:
    """ModelOptions from a dict (or None: the default), checked; ValueError naming the field."""
    if isinstance(value, ModelOptions):
        return value
    value = dict(value or {})
    value.pop("trust_remote_code", None)  # never taken from input: the caller decides (remote_code.py)
    known = {f.name for f in fields(ModelOptions)} - {"trust_remote_code"}
    unknown = set(value) - known
    if unknown:
        raise ValueError(f"model: unknown option(s) {sorted(unknown)}; allowed: {sorted(known)}")
    opts = ModelOptions(**value)
    if opts.head not in HEADS:
        raise ValueError(f"model.head must be one of {HEADS}, got {opts.head!r}")
    if opts.numbers is not None and opts.numbers not in NUMBERS:
        raise ValueError(f"model.numbers must be one of {NUMBERS}, got {opts.numbers!r}")
    if opts.bf16 not in BF16:
        raise ValueError(f"model.bf16 must be one of {BF16}")
    if opts.head == CAUSAL_LM:
        from activelearn.prm.step_format import step_format_of

        step_format_of(opts.step_format)  # raises naming the field
    elif opts.step_format:
        raise ValueError("model.step_format is for head causal_lm only")
    if opts.lora is not None:
        from activelearn.prm.lora import lora_settings

        opts.lora = lora_settings(opts.lora)
    elif opts.save_adapters:
        raise ValueError("model.save_adapters needs model.lora")
    return opts


def _bf16_weights(opts: ModelOptions):
    """bf16 frozen weights for a LoRA backbone on a GPU that has bf16; None (fp32) otherwise."""
    import torch

    if opts.lora is not None and opts.bf16 == "auto" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def build(base: str, opts: ModelOptions, *, new_head: bool, max_length: int, seed: int | None,
          device: str | None = None) -> RewardModel:
    """The model to train: from a backbone (`new_head`) or a saved version's directory (fine-tuning)."""
    if opts.head == CAUSAL_LM:
        from activelearn.prm.causal import CausalRewardModel

        if new_head:
            rm = CausalRewardModel.from_backbone(base, opts.step_format, max_length, seed, device,
                                                 dtype=_bf16_weights(opts), trust_remote_code=opts.trust_remote_code)
        else:
            rm = load_saved_for_training(base, device)
    elif new_head:
        tok = backbone.load_tokenizer(base)
        rm = RewardModel(backbone.load_model(base, tok, new_head=True, seed=seed), tok, max_length, device)
    else:
        rm = load_saved_for_training(base, device)
    if not new_head:  # fine-tuning: this run's max_length, as for a new model (within the model's positions)
        positions = getattr(rm.model.config, "max_position_embeddings", None) or max_length
        rm.max_length = min(max_length, positions)
    if opts.lora is not None and not getattr(rm, "is_lora", False):
        from activelearn.prm.lora import attach

        attach(rm, opts, base)
    if opts.numbers is not None:  # a backbone read another way than it was built for: a pretrained one, digit by digit
        rm.tokenizer.stepwise_numbers = opts.numbers
    rm.training_overrides = training_overrides(opts)
    return rm


def load_saved_for_training(path: str, device: str | None) -> RewardModel:
    meta_file = Path(path) / META_FILE
    rm = load_saved(path, json.loads(meta_file.read_text()) if meta_file.exists() else {}, device)
    if getattr(rm, "is_lora", False):
        from activelearn.prm.lora import make_trainable

        make_trainable(rm)
    return rm


def training_overrides(opts: ModelOptions) -> dict:
    """TrainingArguments a shape needs beyond training.py's own."""
    out: dict = {"label_names": ["labels"]}
    if opts.gradient_checkpointing:
        out.update(activation_checkpointing=True, activation_checkpointing_kwargs={"use_reentrant": False})
    if opts.bf16 == "off":
        out["bf16"] = False
    return out


def save(rm: RewardModel, path: str | Path, opts: ModelOptions, base: str, **meta) -> None:
    """Save a trained model where loading (RewardModel.load) finds everything it needs."""
    meta = {"base_model": base, "model": opts.as_dict(), **meta}
    if getattr(rm, "is_lora", False):
        from activelearn.prm.lora import save_lora

        save_lora(rm, path, opts, **meta)
    else:
        rm.save(path, **meta)


def load_saved(path: str | Path, meta: dict, device: str | None = None) -> RewardModel:
    """A saved version whose stepwise.json names a head or adapters (RewardModel.load comes here)."""
    if meta.get("adapter"):
        from activelearn.prm.lora import load_adapters

        return load_adapters(path, meta, device)
    if meta.get("head") == CAUSAL_LM:
        from activelearn.prm.causal import CausalRewardModel

        return CausalRewardModel.load_saved(path, meta, device)
    if meta.get("head") in (None, TOKEN_CLASSIFICATION):
        tok = backbone.load_tokenizer(path)
        return RewardModel(backbone.load_model(path, tok, new_head=False), tok, meta.get("max_length", 512), device)
    raise ValueError(f"{Path(path).name}: unknown head {meta.get('head')!r} in stepwise.json")
