"""LoRA adapters (peft) on a frozen backbone, for backbones too large to fine-tune whole.

A LoRA version is saved merged (plain weights: it loads and scores like any other version) or, with
`save_adapters`, as the adapters alone plus the path of the backbone they sit on (small; loading needs
that backbone). The token-classification head's new classifier is trained whole beside the adapters.
"""
from pathlib import Path

from activelearn.prm import backbone
from activelearn.prm.reward_model import RewardModel

DEFAULTS = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"}
HEAD_MODULES = ["classifier", "score"]  # the token-classification head: trained whole, never adapted


def lora_settings(value) -> dict:
    """The LoRA settings with defaults, checked; ValueError naming the field."""
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise ValueError("model.lora must be an object (or true for the defaults)")
    unknown = set(value) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"model.lora: unknown field(s) {sorted(unknown)}; allowed: {sorted(DEFAULTS)}")
    s = {**DEFAULTS, **value}
    if not isinstance(s["r"], int) or isinstance(s["r"], bool) or not 1 <= s["r"] <= 1024:
        raise ValueError("model.lora.r must be an integer from 1 to 1024")
    if not isinstance(s["alpha"], int | float) or isinstance(s["alpha"], bool) or s["alpha"] <= 0:
        raise ValueError("model.lora.alpha must be a positive number")
    if not isinstance(s["dropout"], int | float) or isinstance(s["dropout"], bool) or not 0 <= s["dropout"] < 1:
        raise ValueError("model.lora.dropout must be in [0, 1)")
    t = s["target_modules"]
    if not (isinstance(t, str) and t) and not (isinstance(t, list) and t and all(isinstance(x, str) and x for x in t)):
        raise ValueError("model.lora.target_modules must be \"all-linear\" or a list of module names")
    return s


def _config(settings: dict, causal: bool):
    from peft import LoraConfig, TaskType

    return LoraConfig(task_type=TaskType.CAUSAL_LM if causal else TaskType.TOKEN_CLS, r=settings["r"],
                      lora_alpha=settings["alpha"], lora_dropout=settings["dropout"],
                      target_modules=settings["target_modules"],
                      exclude_modules=None if causal else HEAD_MODULES)


def attach(rm: RewardModel, opts, base: str) -> None:
    """Wrap the model with fresh adapters; only they (and a token-classification head) train."""
    from peft import get_peft_model

    causal = getattr(rm, "head", None) == "causal_lm"
    rm.model = get_peft_model(rm.model, _config(opts.lora, causal))
    rm.is_lora, rm.lora = True, opts.lora
    rm.lora_base = base


def make_trainable(rm: RewardModel) -> None:
    """A loaded adapter version, to train on: its adapters (and head) take gradients again."""
    for name, p in rm.model.named_parameters():
        if "lora_" in name or "modules_to_save" in name:
            p.requires_grad_(True)


def save_lora(rm: RewardModel, path: str | Path, opts, **meta) -> None:
    if opts.save_adapters:
        rm.save(path, **{**meta, "adapter": True, "lora": rm.lora, "base_model": rm.lora_base})
        return
    rm.model = rm.model.merge_and_unload()
    rm.is_lora = False
    rm.save(path, **{**meta, "lora": rm.lora, "merged": True})


def load_adapters(path: str | Path, meta: dict, device: str | None = None) -> RewardModel:
    """An adapter version: its backbone (meta `base_model`) with the saved adapters on top."""
    from peft import PeftModel

    from activelearn.prm.remote_code import remote_code_allowed

    base = meta.get("base_model")
    if not base:
        raise ValueError(f"{Path(path).name}: an adapter version must name its base_model in stepwise.json")
    if meta.get("head") == "causal_lm":
        from activelearn.prm import causal
        from activelearn.prm.step_format import step_format_of

        fmt = step_format_of(meta.get("step_format"))
        remote = remote_code_allowed(base)
        tok = causal.load_tokenizer(path, fmt, new=False, trust_remote_code=remote)
        model = PeftModel.from_pretrained(causal.load_lm(base, tok, trust_remote_code=remote), str(path))
        rm = causal.CausalRewardModel(model, tok, fmt, meta.get("max_length", 512), device)
    else:
        tok = backbone.load_tokenizer(path)
        model = PeftModel.from_pretrained(backbone.load_model(base, tok, new_head=True), str(path))
        rm = RewardModel(model, tok, meta.get("max_length", 512), device)
    rm.is_lora, rm.lora, rm.lora_base = True, meta.get("lora") or {}, base
    return rm
