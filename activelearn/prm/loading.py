"""Loading a saved version whatever its shape: the one entry point for scoring, labelling and evaluating.

A version's stepwise.json says its shape: no `head` (every version before issue 29) or
`token_classification` is RewardModel's own; `causal_lm` is causal.py's; `adapter` means LoRA adapters
over a backbone (lora.py)."""
import json
from pathlib import Path

from activelearn.prm.heads import load_saved
from activelearn.prm.reward_model import META_FILE, RewardModel


def load(path: str | Path, device: str | None = None) -> RewardModel:
    meta_file = Path(path) / META_FILE
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    return load_saved(path, meta, device)
