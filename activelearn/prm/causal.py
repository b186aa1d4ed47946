"""A reward model that is a causal LM read at a step tag (the Math-Shepherd / RLHFlow shape).

The solution is written in the version's StepFormat; after each step the model's logits for the
good and the bad token are read where `{read}` marks, and the step's class probabilities are
(P(bad), 0, P(good)) over those two: the same (n_steps, 3) arrays as the token-classification
head, so scoring, selection, suggestions and the `prm` labeller need nothing new. Training uses
the same shape: cross-entropy over the two tokens at the read positions (a neutral label trains as
`neutral_as`), with the soft and weighted targets of the other head.

Remote code runs only for a backbone an operator allowed (remote_code.py).
"""
import inspect
from pathlib import Path

import numpy as np

from activelearn.prm import backbone
from activelearn.prm.encoding import IGNORE, Encoded, _cap
from activelearn.prm.remote_code import remote_code_allowed
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.step_format import StepFormat, step_format_of
from activelearn.prm.text import normalize, numbers_of

HEAD = "causal_lm"
MAX_SHORTEN_TRIES = 6


def token_id(tokenizer, text: str, name: str) -> int:
    """The id of the good or bad token: `id:N`, a vocabulary entry spelt as there, or text that
    tokenizes to exactly one token."""
    if text.startswith("id:") and text[3:].isdigit():
        tid = int(text[3:])
        if tid >= len(tokenizer):
            raise ValueError(f"step_format.{name}: id {tid} is outside the vocabulary ({len(tokenizer)} tokens)")
        return tid
    vocab = tokenizer.get_vocab()
    if text in vocab:
        return vocab[text]
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"step_format.{name}: {text!r} is {len(ids)} tokens for this tokenizer, not one; give the "
                         "vocabulary entry as spelt there or id:N")
    return ids[0]


def load_tokenizer(path: str | Path, fmt: StepFormat, *, new: bool, trust_remote_code: bool = False):
    """The tokenizer; a new model (`new`) gets the tag as a special token when it is not one token already
    (a saved or public model is never changed: its tag is read as its own tokenizer splits it)."""
    from transformers import AutoTokenizer

    backbone.configure_hub()
    tok = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    if not tok.is_fast:
        raise ValueError("a causal-LM reward model needs a fast tokenizer (character offsets find the read points)")
    if new and fmt.tag and len(tok(fmt.tag, add_special_tokens=False)["input_ids"]) != 1:
        tok.add_special_tokens({"additional_special_tokens": [fmt.tag]})
    tok.stepwise_numbers = numbers_of(path)  # text.py: how numbers are written for it
    return backbone.with_pad_token(tok)


def load_lm(path: str | Path, tokenizer, *, seed: int | None = None, trust_remote_code: bool = False, dtype=None):
    from transformers import AutoModelForCausalLM, set_seed

    backbone.configure_hub()
    if seed is not None:
        set_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(path), trust_remote_code=trust_remote_code,
                                                 **({"dtype": dtype} if dtype is not None else {}))
    model.config.pad_token_id = tokenizer.pad_token_id
    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    return model


def _read_positions(offsets, reads: list[int]) -> list[int]:
    """Per read point (a character offset), the last real token that starts before it."""
    out, j, last = [], 0, None
    for r in reads:
        while j < len(offsets) and offsets[j][0] < r:
            if offsets[j][1] > offsets[j][0]:
                last = j
            j += 1
        out.append(last if last is not None else 0)
    return out


def _keep_logits(model) -> bool:
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(inner.forward).parameters


def two_token_logits(model, input_ids, attention_mask, keep, bad_id: int, good_id: int):
    """(batch, len(keep), 2) logits of the bad and good token at the positions `keep` (the whole
    vocabulary's logits only there, where the model can restrict them)."""
    if _keep_logits(model):
        logits = model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=keep).logits
    else:
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, keep]
    return logits[..., [bad_id, good_id]]


class CausalRewardModel(RewardModel):
    head = HEAD

    def __init__(self, model, tokenizer, step_format: StepFormat, max_length: int = 512, device: str | None = None):
        super().__init__(model, tokenizer, max_length, device)
        self.step_format = step_format
        self.bad_id = token_id(tokenizer, step_format.bad, "bad")
        self.good_id = token_id(tokenizer, step_format.good, "good")
        self.trainer_class = trainer_class(self.bad_id, self.good_id)

    @classmethod
    def from_backbone(cls, path: str | Path, step_format=None, max_length: int = 512, seed: int | None = None,
                      device: str | None = None, dtype=None, trust_remote_code: bool = False) -> "CausalRewardModel":
        """A new model to fine-tune (or a public PRM to score with as it is). `trust_remote_code` is the
        caller's decision (remote_code_allowed, taken where the settings are)."""
        fmt = step_format_of(step_format)
        tok = load_tokenizer(path, fmt, new=True, trust_remote_code=trust_remote_code)
        model = load_lm(path, tok, seed=seed, trust_remote_code=trust_remote_code, dtype=dtype)
        return cls(model, tok, fmt, max_length, device)

    @classmethod
    def load_saved(cls, path: str | Path, meta: dict, device: str | None = None) -> "CausalRewardModel":
        fmt = step_format_of(meta.get("step_format"))
        remote = remote_code_allowed(meta.get("base_model", ""), saved=str(path))
        tok = load_tokenizer(path, fmt, new=False, trust_remote_code=remote)
        return cls(load_lm(path, tok, trust_remote_code=remote), tok, fmt, meta.get("max_length", 512), device)

    def save(self, path: str | Path, **meta) -> None:
        super().save(path, head=HEAD, step_format=self.step_format.as_dict(), **meta)

    # --- encoding ---------------------------------------------------------------------------------

    def encode(self, items, step_labels=None, step_soft=None, weights=None) -> list[Encoded]:
        numbers = getattr(self.tokenizer, "stepwise_numbers", None)
        problems = [normalize(p, numbers) for p, _ in items]
        steps = [[normalize(s, numbers) for s in st] for _, st in items]
        rendered = [self.step_format.render(p, s) for p, s in zip(problems, steps, strict=True)]
        enc = self.tokenizer([t for t, _ in rendered], add_special_tokens=True, return_offsets_mapping=True,
                             verbose=False) if rendered else {"input_ids": [], "offset_mapping": []}
        out = []
        for i, (_, reads) in enumerate(rendered):
            ids, offsets = enc["input_ids"][i], enc["offset_mapping"][i]
            if len(ids) > self.max_length:
                ids, offsets, reads = self._shorten(problems[i], steps[i], len(ids))
            positions = _read_positions(offsets, reads)
            positions = [p for p in positions if p < len(ids)]
            out.append(self._encoded(ids, positions, i, step_labels, step_soft, weights))
        return out

    def _shorten(self, problem: str, steps: list[str], full_length: int):
        """Every piece cut to a common token cap (the problem keeps its start and end) so that each step
        keeps its read point; as a last resort the sequence is cut and the steps past the end lose theirs."""
        pieces = self.tokenizer([problem, *steps], add_special_tokens=False, return_offsets_mapping=True,
                                verbose=False)
        lengths = [len(x) for x in pieces["input_ids"]]
        budget = self.max_length - (full_length - sum(lengths))
        ids = offsets = reads = None
        for _ in range(MAX_SHORTEN_TRIES):
            cap = _cap(lengths, max(budget, 0))
            texts = [_cut(t, offs, cap, keep_end=k == 0)
                     for k, (t, offs) in enumerate(zip([problem, *steps], pieces["offset_mapping"], strict=True))]
            text, reads = self.step_format.render(texts[0], texts[1:])
            enc = self.tokenizer(text, add_special_tokens=True, return_offsets_mapping=True, verbose=False)
            ids, offsets = enc["input_ids"], enc["offset_mapping"]
            if len(ids) <= self.max_length:
                return ids, offsets, reads
            budget -= len(ids) - self.max_length
        return ids[:self.max_length], offsets[:self.max_length], reads

    def _encoded(self, ids, positions, i, step_labels, step_soft, weights) -> Encoded:
        neutral_to = 2 if self.step_format.neutral_as == "good" else 0
        labels = soft = None
        if step_labels is not None:
            labels = [IGNORE] * len(ids)
            for pos, cls in zip(positions, step_labels[i], strict=False):
                if cls is not None:
                    labels[pos] = neutral_to if cls == 1 else cls
        if step_soft is not None and step_soft[i]:
            soft = {}
            for pos, p in zip(positions, step_soft[i], strict=False):
                if p is not None:
                    bad, neutral, good = p
                    soft[pos] = [bad + (neutral if neutral_to == 0 else 0.0), 0.0,
                                 good + (neutral if neutral_to == 2 else 0.0)]
        return Encoded(list(ids), positions, labels, soft or None, 1.0 if weights is None else weights[i])

    # --- scoring ----------------------------------------------------------------------------------

    def batch_step_probs(self, batch: dict, encoded: list[Encoded]) -> list[np.ndarray]:
        """(P(bad), 0, P(good)) at each step's read point (RewardModel.step_probs batches by length)."""
        import torch

        keep = sorted({p for e in encoded for p in e.sep_positions}) or [0]
        column = {p: c for c, p in enumerate(keep)}
        two = two_token_logits(self.model, batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device),
                               torch.tensor(keep, device=self.device), self.bad_id, self.good_id)
        probs = torch.softmax(two.float(), dim=-1).cpu().numpy()
        out = []
        for row, e in enumerate(encoded):
            p = probs[row, [column[s] for s in e.sep_positions]]
            out.append(np.stack([p[:, 0], np.zeros(len(p), dtype=p.dtype), p[:, 1]], axis=1))
        return out


def _cut(text: str, offsets, cap: int, keep_end: bool) -> str:
    if len(offsets) <= cap:
        return text
    if cap <= 0:
        return ""
    if not keep_end:
        return text[:offsets[cap - 1][1]]
    head, tail = cap - cap // 2, cap // 2
    return text[:offsets[head - 1][1]] + (" " + text[offsets[len(offsets) - tail][0]:] if tail else "")


def trainer_class(bad_id: int, good_id: int):
    """Trainer whose loss is the cross-entropy over the good and bad token at the labelled read points
    (soft and weighted targets as the token-classification head's: columns (bad, neutral, good), the
    neutral column already folded into one of the others by the encoding)."""
    import torch
    from transformers import Trainer

    class StepTagTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs["labels"]
            keep = (labels != IGNORE).any(0).nonzero().squeeze(1)
            if keep.numel() == 0:
                keep = torch.zeros(1, dtype=torch.long, device=labels.device)
            two = two_token_logits(model, inputs["input_ids"], inputs["attention_mask"], keep, bad_id, good_id)
            logp = torch.log_softmax(two.float(), dim=-1)
            lab = labels[:, keep]
            if inputs.get("target_probs") is not None:
                q3, weight = inputs["target_probs"][:, keep], inputs["target_weight"][:, keep]
                target = torch.stack([q3[..., 0] + q3[..., 1], q3[..., 2]], dim=-1)
            else:
                weight = (lab != IGNORE).float()
                target = torch.nn.functional.one_hot((lab == 2).long(), 2).float()
            loss = (-(target * logp).sum(-1) * weight).sum() / weight.sum().clamp_min(1e-8)
            return (loss, {"logits": two.detach()}) if return_outputs else loss

    return StepTagTrainer
