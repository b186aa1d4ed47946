"""Text normalisation before tokenising.

Some backbones' tokenizers (all-MiniLM-L6-v2's lowercases and strips accents) turn
Unicode math symbols into something else or nothing: `≠` becomes `=`, which flips a
step's meaning. Map them to LaTeX macros first, which every tokenizer keeps.
"""
import json
import re
import unicodedata
from pathlib import Path

UNICODE_TO_LATEX = {
    "≠": r"\neq", "≤": r"\leq", "≥": r"\geq", "≈": r"\approx", "≡": r"\equiv", "∼": r"\sim",
    "×": r"\times", "÷": r"\div", "·": r"\cdot", "±": r"\pm", "∓": r"\mp", "−": "-",
    "√": r"\sqrt", "∞": r"\infty", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∂": r"\partial",
    "∈": r"\in", "∉": r"\notin", "⊂": r"\subset", "⊆": r"\subseteq", "∪": r"\cup", "∩": r"\cap",
    "∅": r"\emptyset", "∀": r"\forall", "∃": r"\exists", "¬": r"\neg", "∧": r"\wedge", "∨": r"\vee",
    "→": r"\to", "⇒": r"\Rightarrow", "⟹": r"\implies", "⇔": r"\iff", "↔": r"\leftrightarrow",
    "°": r"^\circ", "∠": r"\angle", "⊥": r"\perp", "∥": r"\parallel", "△": r"\triangle",
    "π": r"\pi", "θ": r"\theta", "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta",
    "Δ": r"\Delta", "ε": r"\epsilon", "λ": r"\lambda", "μ": r"\mu", "σ": r"\sigma", "Σ": r"\Sigma",
    "φ": r"\phi", "ω": r"\omega", "Ω": r"\Omega", "ρ": r"\rho", "τ": r"\tau",
    "²": "^2", "³": "^3", "¹": "^1", "⁰": "^0", "½": r"\frac{1}{2}", "¼": r"\frac{1}{4}", "¾": r"\frac{3}{4}",
    "…": "...", "′": "'", "″": "''",
}
_TABLE = str.maketrans({k: f" {v} " if v.startswith("\\") else v for k, v in UNICODE_TO_LATEX.items()})


def normalize(text: str, numbers: str | None = None) -> str:
    """NFC-normalise and replace Unicode math symbols with their LaTeX macros; numbers written as
    `numbers` says (write_numbers)."""
    return write_numbers(unicodedata.normalize("NFC", text).translate(_TABLE), numbers)


# How a backbone reads numbers (issue 26, item 4): as written, or digit by digit, most significant digit
# first ("digits") or least significant first ("reversed", so that a causal model meets a sum's or a
# product's units digit first, as a carry flows). A backbone built for it says so in NUMBERS_FILE; the
# versions trained from it save the same file, and every text is written so before it is tokenised.
NUMBERS = ("as_written", "digits", "reversed")
NUMBERS_FILE = "stepwise_numbers.json"
_DIGITS = re.compile(r"\d+")


def write_numbers(text: str, numbers: str | None) -> str:
    """Every run of digits spelt out digit by digit (space-separated, so any tokenizer gives a token each)."""
    if not numbers or numbers == "as_written":
        return text
    if numbers == "digits":
        return _DIGITS.sub(lambda m: " ".join(m.group()), text)
    if numbers == "reversed":
        return _DIGITS.sub(lambda m: " ".join(reversed(m.group())), text)
    raise ValueError(f"numbers must be one of {NUMBERS}, got {numbers!r}")


def numbers_of(path: str | Path) -> str:
    """How the backbone or version in `path` reads numbers (NUMBERS_FILE; as written when there is none)."""
    f = Path(path) / NUMBERS_FILE
    if not f.is_file():
        return "as_written"
    numbers = json.loads(f.read_text()).get("numbers", "as_written")
    if numbers not in NUMBERS:
        raise ValueError(f"{f.name}: numbers must be one of {NUMBERS}, got {numbers!r}")
    return numbers


def save_numbers(path: str | Path, numbers: str | None) -> None:
    if numbers and numbers != "as_written":
        (Path(path) / NUMBERS_FILE).write_text(json.dumps({"numbers": numbers}) + "\n")
