"""A micro backbone built locally (no download): for tests, the demo and simulations.

A WordPiece (BERT-style) vocabulary of the given text's characters and most frequent words, or
a byte-level BPE (GPT-2-style) tokenizer trained on it, and a randomly initialised tiny model of
that family, saved so that `from_pretrained` loads it like any other backbone. `arch="gpt2-lm"` saves a GPT-2 with its
language-model head: a causal model a model server (`transformers serve`) can sample from; its
text is nonsense, which is all a test of the serving protocol needs.
"""
from collections import Counter
from collections.abc import Iterable
from pathlib import Path


def build_micro_backbone(out_dir: str | Path, corpus: Iterable[str], arch: str = "bert", *, vocab_size: int = 800,
                         hidden: int = 64, layers: int = 2, heads: int = 2, max_positions: int = 512,
                         seed: int = 0, digits: bool = False, numbers: str = "as_written") -> Path:
    """`numbers`: how the backbone reads numbers (text.py's NUMBERS; saved beside it, and every version
    trained from it reads them the same way); "digits" or "reversed" imply `digits`."""
    import torch
    from tokenizers import ByteLevelBPETokenizer, normalizers
    from tokenizers.implementations import BertWordPieceTokenizer
    from transformers import (
        BertConfig,
        BertModel,
        BertTokenizerFast,
        GPT2Config,
        GPT2LMHeadModel,
        GPT2Model,
        PreTrainedTokenizerFast,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from activelearn.prm.text import normalize, save_numbers

    texts = [normalize(t, numbers) for t in corpus]
    torch.manual_seed(seed)
    if arch == "bert":
        # A vocabulary made here, not by the WordPiece trainer, whose ties fall differently from run to
        # run (the same corpus and seed would give another model): every character (alone and as a
        # continuation), then the most frequent words, ties by spelling. Words not in it split into
        # characters, numbers into digits. The tokenizer object itself goes to transformers: version 5
        # ignores `vocab_file` here and keeps only the special tokens (tests/test_prm_model.py).
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        split = BertWordPieceTokenizer(lowercase=True)
        counts: Counter = Counter()
        for text in texts:
            norm = split.normalizer.normalize_str(text)
            counts.update(w for w, _ in split.pre_tokenizer.pre_tokenize_str(norm))
        chars = sorted({c for w in counts for c in w})
        pieces = specials + chars + [f"##{c}" for c in chars]
        # `digits`: no number gets a token of its own, so the model reads every number digit by digit.
        frequent = sorted((w for w in counts if len(w) > 1 and not (digits and w.isdigit())),
                          key=lambda w: (-counts[w], w))
        vocab = pieces + frequent[:max(0, vocab_size - len(pieces))]
        (out / "vocab.txt").write_text("\n".join(vocab) + "\n")
        fixed = BertWordPieceTokenizer(str(out / "vocab.txt"), lowercase=True)
        tok = BertTokenizerFast(tokenizer_object=fixed._tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]", do_lower_case=True)
        config = BertConfig(vocab_size=tok.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=heads, intermediate_size=hidden * 2,
                            max_position_embeddings=max_positions, pad_token_id=tok.pad_token_id)
        model = BertModel(config, add_pooling_layer=False)
    elif arch in ("gpt2", "gpt2-lm"):
        raw = ByteLevelBPETokenizer()
        raw.normalizer = normalizers.NFC()
        raw.train_from_iterator(texts, vocab_size=max(vocab_size, 300), min_frequency=1,
                                special_tokens=["<|endoftext|>"])
        tok = PreTrainedTokenizerFast(tokenizer_object=raw._tokenizer, bos_token="<|endoftext|>",
                                      eos_token="<|endoftext|>", unk_token="<|endoftext|>")
        config = GPT2Config(vocab_size=len(tok), n_embd=hidden, n_layer=layers, n_head=heads,
                            n_positions=max_positions, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        model = GPT2LMHeadModel(config) if arch == "gpt2-lm" else GPT2Model(config)
    else:
        raise ValueError(f"arch must be 'bert', 'gpt2' or 'gpt2-lm', got {arch!r}")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    save_numbers(out, numbers)
    return out
