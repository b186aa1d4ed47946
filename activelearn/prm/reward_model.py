"""A trained reward model in memory: batched step scoring, saving and loading. What a step and a
solution score are: docs/method.md, "The process reward model"."""
import json
from pathlib import Path

import numpy as np

from activelearn.prm import backbone
from activelearn.prm.encoding import Collator, Encoded, encode
from activelearn.prm.text import save_numbers

META_FILE = "stepwise.json"


class RewardModel:
    def __init__(self, model, tokenizer, max_length: int = 512, device: str | None = None):
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.max_length = min(max_length, getattr(model.config, "max_position_embeddings", max_length) or max_length)
        self.collate = Collator(tokenizer.pad_token_id)
        # Measured (bench/prm_throughput.py): on CPU, batches of 32 long sequences are slower
        # than batches of 8; a GPU wants larger batches.
        self.batch_size = 32 if self.device == "cuda" else 8

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> "RewardModel":
        meta = json.loads((Path(path) / META_FILE).read_text()) if (Path(path) / META_FILE).exists() else {}
        if meta.get("head") or meta.get("adapter"):
            raise ValueError(f"{Path(path).name} is a {meta.get('head') or 'LoRA adapter'} version: load it with "
                             "activelearn.prm.loading.load, which reads every shape")
        tok = backbone.load_tokenizer(path)
        model = backbone.load_model(path, tok, new_head=False)
        return cls(model, tok, meta.get("max_length", 512), device)

    def save(self, path: str | Path, **meta) -> None:
        path = Path(path)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        save_numbers(path, getattr(self.tokenizer, "stepwise_numbers", None))
        (path / META_FILE).write_text(json.dumps({"max_length": self.max_length, **meta}, indent=1))

    def encode(self, items, step_labels=None, step_soft=None, weights=None) -> list[Encoded]:
        return encode(self.tokenizer, items, self.max_length, step_labels, step_soft, weights)

    def step_probs(self, items: list[tuple[str, list[str]]], batch_size: int | None = None) -> list[np.ndarray]:
        """Class probabilities (-1, 0, +1) at each step, one (n_steps, 3) array per solution.

        One forward pass per solution; solutions are batched by similar length (sorted,
        then dynamically padded) so little compute goes to padding.
        """
        import torch

        batch_size = batch_size or self.batch_size
        encoded = self.encode(items)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
        out: list[np.ndarray | None] = [None] * len(encoded)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                batch = self.collate([encoded[i] for i in idx])
                for i, probs in zip(idx, self.batch_step_probs(batch, [encoded[i] for i in idx]), strict=True):
                    out[i] = probs
        return out

    def batch_step_probs(self, batch: dict, encoded: list[Encoded]) -> list[np.ndarray]:
        """One padded batch's (n_steps, 3) arrays, a row each (a head of another shape reads them its way)."""
        import torch

        logits = self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return [probs[row, e.sep_positions] for row, e in enumerate(encoded)]

    def score(self, items, batch_size: int | None = None, aggregate: str = "prod", neutral: str = "positive"):
        """(solution score, step scores) per solution; step score = P(+1) + P(0) by default."""
        from activelearn.prm.metrics import solution_score, step_score

        results = []
        for probs in self.step_probs(items, batch_size):
            steps = [float(step_score(p, neutral=neutral)) for p in probs]
            results.append((float(solution_score(probs, aggregate=aggregate, neutral=neutral)), steps))
        return results
