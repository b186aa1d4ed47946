"""A dense arithmetic signal for the learnability benchmark (issue 26, item 4): the micro backbone pretrained
as a causal language model (next-token prediction) on the right solutions' text before its PRM head is trained.

One bit per step (the step labels) did not teach the micro model arithmetic; predicting every token of right
solutions supervises every result digit (numbers last digit first, `--numbers reversed`, meet a result's units
digit first, where a carry starts). The text is laid out as the PRM reads it (encoding.py: [CLS] problem
[STEP] step [STEP] ...), so the PRM starts from the same positions and tokens the LM learned.
"""
import math
import random
import time
from pathlib import Path


def pretrain(micro_dir: str, records: list[dict], out_dir: Path, *, steps: int, batch_size: int, lr: float,
             max_length: int, seed: int, probe: list[dict]) -> tuple[str, dict]:
    """The backbone in `micro_dir` trained `steps` optimiser steps as a causal LM on `records`' text; saved
    (tokenizer with the step token, numbers file, BERT weights) to `out_dir`, which `train_fresh` then
    loads as any backbone. `probe`: right solutions it did not train on, where it is asked for each
    result digit (the tokens after `=`) with the right text before it."""
    import torch
    from transformers import AutoConfig, BertLMHeadModel

    from activelearn.prm import backbone
    from activelearn.prm.encoding import encode
    from activelearn.prm.text import save_numbers

    torch.manual_seed(seed)
    tok = backbone.load_tokenizer(micro_dir)  # adds the step token; numbers as the backbone reads them
    config = AutoConfig.from_pretrained(micro_dir)
    backbone.make_causal(config)
    model = BertLMHeadModel.from_pretrained(micro_dir, config=config)
    model.resize_token_embeddings(len(tok), mean_resizing=False)
    rows = [e.input_ids for e in encode(tok, [(r["problem"], r["steps"]) for r in records], max_length)]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    rng = random.Random(seed)
    order: list[int] = []
    losses = []
    t, cpu = time.perf_counter(), time.process_time()
    model.train()
    for _ in range(steps):
        if len(order) < batch_size:
            order += rng.sample(range(len(rows)), len(rows))
        batch, order = [rows[i] for i in order[:batch_size]], order[batch_size:]
        ids, mask = _pad(batch, tok.pad_token_id)
        labels = ids.masked_fill(mask == 0, -100)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss  # shifted inside: next token
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(loss.item())
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    model.eval()
    out = Path(out_dir)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    save_numbers(out, tok.stepwise_numbers)
    tail = losses[-max(1, steps // 10):]
    return str(out), {
        "steps": steps, "sequences": len(rows), "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
        "steps_per_second": round(steps / seconds, 2), "first_loss": round(losses[0], 3),
        "final_loss": round(sum(tail) / len(tail), 3), "perplexity": round(math.exp(sum(tail) / len(tail)), 3),
        "heldout_result_digits": _result_digit_accuracy(model, tok, probe, max_length, rows)}


def _pad(batch: list[list[int]], pad_id: int):
    import torch

    width = max(len(r) for r in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, r in enumerate(batch):
        ids[i, :len(r)], mask[i, :len(r)] = torch.tensor(r), 1
    return ids, mask


def _results(row: list[int], digit: set, equals: int):
    """Each result of a row: the positions of the digit tokens right after an `=`."""
    j = 0
    while j < len(row):
        j += 1
        if row[j - 1] != equals:
            continue
        start = j
        while j < len(row) and row[j] in digit:
            j += 1
        if j > start:
            yield list(range(start, j))


def _result_digit_accuracy(model, tok, records: list[dict], max_length: int, train_rows: list[list[int]]) -> dict:
    """How often the LM's top next token is right on the digits of a result (the digits after `=`), with the
    right text before them: per digit, and per whole result (every digit right); beside it, a guess of each
    digit position's most frequent digit in the training text (no arithmetic)."""
    from collections import Counter

    import torch

    from activelearn.prm.encoding import encode

    if not records:
        return {}
    digit = {i for t, i in tok.get_vocab().items() if t.isdigit() and len(t) == 1}
    equals = tok.convert_tokens_to_ids("=")
    counts: dict[int, Counter] = {}
    for row in train_rows:
        for res in _results(row, digit, equals):
            for k, j in enumerate(res):
                counts.setdefault(k, Counter())[row[j]] += 1
    guess = {k: c.most_common(1)[0][0] for k, c in counts.items()}
    rows = [e.input_ids for e in encode(tok, [(r["problem"], r["steps"]) for r in records], max_length)]
    hit = total = whole_hit = whole = base_hit = base_whole = 0
    with torch.no_grad():
        for k in range(0, len(rows), 32):
            ids, mask = _pad(rows[k:k + 32], tok.pad_token_id)
            pred = model(input_ids=ids, attention_mask=mask).logits.argmax(-1)
            for b, row in enumerate(rows[k:k + 32]):
                for res in _results(row, digit, equals):
                    ok = [int(pred[b, j - 1]) == row[j] for j in res]  # predicted at the token before
                    base = [guess.get(n) == row[j] for n, j in enumerate(res)]
                    hit, total, whole_hit, whole = hit + sum(ok), total + len(ok), whole_hit + all(ok), whole + 1
                    base_hit, base_whole = base_hit + sum(base), base_whole + all(base)
    return {"digits": total, "digit_accuracy": round(hit / max(1, total), 4),
            "results": whole, "result_accuracy": round(whole_hit / max(1, whole), 4),
            "most_frequent_digit_guess": {"digit_accuracy": round(base_hit / max(1, total), 4),
                                          "result_accuracy": round(base_whole / max(1, whole), 4)}}
