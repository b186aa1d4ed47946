"""Command-line options for a version's model shape (activelearn/prm/heads.py), shared by train_prm and
register_model."""
import json

from django.core.management.base import CommandError

from activelearn.prm.heads import HEADS
from activelearn.prm.text import NUMBERS


def add_model_arguments(parser, *, training: bool) -> None:
    parser.add_argument("--head", choices=HEADS, help="token_classification (three classes at <|step|>) or causal_lm "
                        "(a causal LM read at a step tag: Math-Shepherd, RLHFlow, OpenRLHF's train_prm).")
    parser.add_argument("--step-format", metavar="PRESET|JSON",
                        help="causal_lm: stepwise, math-shepherd, rlhflow, or a JSON object of StepFormat fields "
                             "(prefix, step, tag, good, bad, neutral_as; \"preset\" to start from one).")
    if training:
        parser.add_argument("--lora", metavar="JSON", nargs="?", const="{}",
                            help="LoRA adapters on a frozen backbone; optional JSON {r, alpha, dropout, "
                                 "target_modules} (defaults r=16, alpha=32, dropout=0.05, all-linear).")
        parser.add_argument("--save-adapters", action="store_true", help="LoRA: save the adapters alone, not merged.")
        parser.add_argument("--gradient-checkpointing", action="store_true")
        parser.add_argument("--no-bf16", action="store_true", help="fp32 even where the GPU has bf16.")
        parser.add_argument("--numbers", choices=NUMBERS, help="how numbers are written before tokenising: as "
                            "written, digit by digit, or digit by digit last digit first (default: the backbone's).")


def model_from(o: dict) -> dict | None:
    """The `model` options the registry takes, or None when none was given."""
    out: dict = {}
    if o.get("head"):
        out["head"] = o["head"]
    if o.get("step_format"):
        text = o["step_format"]
        try:
            out["step_format"] = json.loads(text) if text.lstrip().startswith("{") else text
        except ValueError as exc:
            raise CommandError(f"--step-format: not valid JSON: {exc}") from None
    if o.get("lora") is not None:
        try:
            out["lora"] = json.loads(o["lora"])
        except ValueError as exc:
            raise CommandError(f"--lora: not valid JSON: {exc}") from None
    for flag in ("save_adapters", "gradient_checkpointing"):
        if o.get(flag):
            out[flag] = True
    if o.get("numbers"):
        out["numbers"] = o["numbers"]
    if o.get("no_bf16"):
        out["bf16"] = "off"
    return out or None
