"""Random-weight causal LMs made in the tests (no download): a byte-level BPE tokenizer trained on the demo
text, with Math-Shepherd's tag `ки` as one token and `+`/`-` as tokens, and a tiny GPT-2 or Llama."""
from pathlib import Path

TAG = "ки"


def demo_corpus() -> list[str]:
    from labeling.demo.problems import generate

    return [t for p in generate(40, 4, seed=1) for t in (p.text, *(s for sol in p.solutions for s in sol.steps))]


def build_causal_lm(out_dir: str | Path, arch: str = "gpt2", *, hidden: int = 32, layers: int = 2, seed: int = 0,
                    max_positions: int = 512) -> Path:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    raw = ByteLevelBPETokenizer()
    raw.train_from_iterator(demo_corpus(), vocab_size=400, min_frequency=1, special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=raw._tokenizer, bos_token="<|endoftext|>",
                                  eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.add_tokens([TAG])  # a public Math-Shepherd PRM has its tag in the vocabulary
    torch.manual_seed(seed)
    if arch == "gpt2":
        config = GPT2Config(vocab_size=len(tok), n_embd=hidden, n_layer=layers, n_head=2, n_positions=max_positions,
                            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        model = GPT2LMHeadModel(config)
    elif arch == "llama":
        config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2,
                             num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
                             max_position_embeddings=max_positions, bos_token_id=tok.bos_token_id,
                             eos_token_id=tok.eos_token_id, tie_word_embeddings=False)
        model = LlamaForCausalLM(config)
    else:
        raise ValueError(arch)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def toy_items(n_problems: int = 6, seed: int = 3):
    """(problem, steps) and class indices per step (2 good, 0 bad at the first error), from the demo generator."""
    from labeling.demo.problems import generate

    items, labels = [], []
    for p in generate(n_problems, 4, seed=seed):
        for sol in p.solutions:
            k = len(sol.steps) if sol.first_error is None else sol.first_error + 1
            items.append((p.text, sol.steps[:k]))
            labels.append([2] * (k - 1) + [2 if sol.first_error is None else 0])
    return items, labels
