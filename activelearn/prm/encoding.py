"""Turning (problem, steps) into token ids with a separator after each step.

Layout: [CLS/BOS] problem [STEP] step1 [STEP] step2 [STEP] ... The label of step i is
read at its [STEP] token. When the whole does not fit in `max_length`, every piece is
cut to a common cap (largest that fits), so each step keeps its separator and a score.
"""
from dataclasses import dataclass

from activelearn.prm.backbone import STEP_TOKEN
from activelearn.prm.text import normalize

IGNORE = -100


@dataclass(slots=True)
class Encoded:
    input_ids: list[int]
    sep_positions: list[int]
    labels: list[int] | None = None
    soft: dict | None = None  # position -> [P(-1), P(0), P(+1)], where the target is soft
    weight: float = 1.0


def _cap(lengths: list[int], budget: int) -> int:
    """Largest c with sum(min(l, c)) <= budget (binary search)."""
    lo, hi = 0, max(lengths, default=0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) for n in lengths) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def encode(tokenizer, items: list[tuple[str, list[str]]], max_length: int,
           step_labels: list[list[int | None]] | None = None, step_soft: list | None = None,
           weights: list[float] | None = None) -> list[Encoded]:
    """Encode many solutions at once; `step_labels[i][k]` is a class index or None (ignored),
    `step_soft[i]` None or per step a class distribution (or None: the hard label), `weights[i]`
    the sequence's loss weight."""
    step_id = tokenizer.convert_tokens_to_ids(STEP_TOKEN)
    prefix = [tokenizer.cls_token_id] if tokenizer.cls_token_id is not None else (
        [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else [])
    numbers = getattr(tokenizer, "stepwise_numbers", None)
    flat = [normalize(t, numbers) for problem, steps in items for t in (problem, *steps)]
    pieces = tokenizer(flat, add_special_tokens=False, verbose=False)["input_ids"] if flat else []
    out, k = [], 0
    for i, (_, steps) in enumerate(items):
        problem_ids, step_ids = pieces[k], pieces[k + 1:k + 1 + len(steps)]
        k += 1 + len(steps)
        n_steps = min(len(steps), max_length - len(prefix) - 1)  # a separator each, at least
        step_ids = step_ids[:n_steps]
        budget = max_length - len(prefix) - n_steps
        lengths = [len(problem_ids)] + [len(s) for s in step_ids]
        if sum(lengths) > budget:
            cap = _cap(lengths, budget)
            if len(problem_ids) > cap:  # keep the start and the end (the question) of the statement
                problem_ids = problem_ids[:cap - cap // 2] + problem_ids[len(problem_ids) - cap // 2:]
            step_ids = [s[:cap] for s in step_ids]
        ids, seps = list(prefix) + list(problem_ids), []
        for s in step_ids:
            ids.extend(s)
            seps.append(len(ids))
            ids.append(step_id)
        labels = None
        if step_labels is not None:
            labels = [IGNORE] * len(ids)
            for pos, cls in zip(seps, step_labels[i], strict=False):
                if cls is not None:
                    labels[pos] = cls
        soft = None
        if step_soft is not None and step_soft[i]:
            soft = {pos: p for pos, p in zip(seps, step_soft[i], strict=False) if p is not None}
        out.append(Encoded(ids, seps, labels, soft or None, 1.0 if weights is None else weights[i]))
    return out


class Collator:
    """Dynamic padding to the longest sequence of the batch."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch: list[Encoded]) -> dict:
        import torch

        width = max(len(e.input_ids) for e in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long) if batch[0].labels is not None else None
        for row, e in enumerate(batch):
            n = len(e.input_ids)
            ids[row, :n] = torch.tensor(e.input_ids)
            mask[row, :n] = 1
            if labels is not None:
                labels[row, :n] = torch.tensor(e.labels)
        out = {"input_ids": ids, "attention_mask": mask}
        if labels is not None:
            out["labels"] = labels
            if any(e.soft or e.weight != 1.0 for e in batch):
                out.update(_targets(batch, labels))
        return out


def _targets(batch: list[Encoded], labels):
    """Class distributions and weights per position, for the soft/weighted loss (training.py):
    a hard label is its one-hot distribution, an unsupervised position weighs nothing."""
    import torch

    n_classes = 3
    supervised = labels != IGNORE
    probs = torch.zeros((*labels.shape, n_classes))
    probs[supervised] = torch.nn.functional.one_hot(labels[supervised], n_classes).float()
    weight = supervised.float() * torch.tensor([e.weight for e in batch]).unsqueeze(1)
    for row, e in enumerate(batch):
        for pos, p in (e.soft or {}).items():
            if supervised[row, pos]:
                probs[row, pos] = torch.tensor(p)
    return {"target_probs": probs, "target_weight": weight}
