"""A micro backbone built locally (no download): for tests, the demo and simulations.

A WordPiece (BERT-style) or byte-level BPE (GPT-2-style) tokenizer trained on the
given text, and a randomly initialised tiny model of that family, saved so that
`from_pretrained` loads it like any other backbone. `arch="gpt2-lm"` saves a GPT-2 with its
language-model head: a causal model a model server (`transformers serve`) can sample from; its
text is nonsense, which is all a test of the serving protocol needs.
"""
from collections.abc import Iterable
from pathlib import Path


def build_micro_backbone(out_dir: str | Path, corpus: Iterable[str], arch: str = "bert", *, vocab_size: int = 800,
                         hidden: int = 64, layers: int = 2, heads: int = 2, max_positions: int = 512,
                         seed: int = 0) -> Path:
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
    texts = list(corpus)
    torch.manual_seed(seed)
    if arch == "bert":
        raw = BertWordPieceTokenizer(lowercase=True)
        raw.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=1,
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        # from the trained tokenizer itself: transformers 5 ignores `vocab_file` here and leaves only the
        # special tokens, so every word would be [UNK] (tests/test_prm_model.py checks it reads words)
        tok = BertTokenizerFast(tokenizer_object=raw._tokenizer, unk_token="[UNK]", pad_token="[PAD]",
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
    return out
