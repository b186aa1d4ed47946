"""Text normalisation before tokenising.

Some backbones' tokenizers (all-MiniLM-L6-v2's lowercases and strips accents) turn
Unicode math symbols into something else or nothing: `≠` becomes `=`, which flips a
step's meaning. Map them to LaTeX macros first, which every tokenizer keeps.
"""
import unicodedata

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


def normalize(text: str) -> str:
    """NFC-normalise and replace Unicode math symbols with their LaTeX macros."""
    return unicodedata.normalize("NFC", text).translate(_TABLE)
