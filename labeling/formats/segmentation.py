"""Cutting a solution that arrives as one text into steps (imports, the API, generation): long chains of thought
come as a single text, and how they are cut decides what a person rates.

Strategies: `auto` (paragraphs if there are any, else lines: what PRM800K's texts need), `newline` (each line),
`blank_line` (paragraphs), `numbered` (a new step at each "Step 3:", "3." or "3)" that starts a line), `markers`
(explicit separators: `<step>`/`</step>` tags, `---` lines, or your own strings) and `sentences`. Then pieces
shorter than `min_chars` join the step before, pieces longer than `max_chars` are cut at sentence ends (else at
a space), and past `max_steps` neighbouring pieces are joined evenly so that the count fits: no text is ever
dropped. Whatever the strategy, a `# Answer` heading and the answer after it stay in the last step, as in
PRM800K. Pure: no database.
"""
import math
import re
from dataclasses import asdict, dataclass, field

from labeling.formats.solution_text import split_steps

STRATEGIES = ("auto", "newline", "blank_line", "numbered", "markers", "sentences")
DEFAULT_MARKERS = ("<step>", "</step>", "---")
_BLANK = re.compile(r"\n\s*\n")
_NUMBERED = re.compile(r"(?m)^(?=[ \t]*(?:\*\*)?(?:step[ \t]*\d+\b|\d+[.)][ \t]))", re.I)
# a sentence ends at . ! or ? followed by white space and then no lower-case letter ("3.5", "e.g. this" stay whole)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[^a-z\s])")
_ANSWER_HEAD = re.compile(r"^\s*#+\s*answer\b", re.I)


class SegmentationError(ValueError):
    """A segmentation option that cannot work; `field` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field, self.message = field_name, message


@dataclass(frozen=True)
class Segmentation:
    strategy: str = "auto"
    markers: tuple[str, ...] = field(default=DEFAULT_MARKERS)
    min_chars: int = 0  # 0: no minimum
    max_chars: int = 0  # 0: no maximum
    max_steps: int = 0  # 0: no cap

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise SegmentationError("strategy", f"must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.strategy == "markers" and not [m for m in self.markers if m]:
            raise SegmentationError("markers", "name at least one non-empty marker")
        for name in ("min_chars", "max_chars", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 10_000_000:
                raise SegmentationError(name, f"must be a whole number from 0, got {value!r}")
        if self.max_chars and self.min_chars > self.max_chars:
            raise SegmentationError("min_chars", "must not exceed max_chars")

    def describe(self) -> dict:
        """What is kept beside the steps, so a segmentation can be told and redone."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _pieces(text: str, seg: Segmentation) -> list[str]:
    s = seg.strategy
    if s == "auto":
        parts = _BLANK.split(text) if _BLANK.search(text.strip()) else text.split("\n")
    elif s == "newline":
        parts = text.split("\n")
    elif s == "blank_line":
        parts = _BLANK.split(text)
    elif s == "numbered":
        parts = _NUMBERED.split(text)
    elif s == "markers":
        alternatives = "|".join(re.escape(m) for m in sorted({m for m in seg.markers if m}, key=len, reverse=True))
        parts = re.split(alternatives, text)
    else:
        parts = _SENTENCE_END.split(text)
    return [p.strip() for p in parts if p and p.strip()]


def _keep_answer_last(pieces: list[str]) -> list[str]:
    steps: list[str] = []
    tail = False
    for piece in pieces:
        if steps and (tail or _ANSWER_HEAD.match(piece)):
            steps[-1] = f"{steps[-1]}\n\n{piece}"
            tail = True
        else:
            steps.append(piece)
    return steps


def _merge_short(pieces: list[str], min_chars: int) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        if out and len(piece) < min_chars:
            out[-1] = f"{out[-1]}\n{piece}"
        elif out and len(out[-1]) < min_chars:
            out[-1] = f"{out[-1]}\n{piece}"
        else:
            out.append(piece)
    return out


def _cut_long(piece: str, max_chars: int) -> list[str]:
    if len(piece) <= max_chars:
        return [piece]
    out, current = [], ""
    for sentence in _SENTENCE_END.split(piece):
        while len(sentence) > max_chars:  # one sentence too long: cut at the last space that fits
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            if current:
                out.append(current)
                current = ""
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        candidate = f"{current} {sentence}".strip() if current else sentence
        if len(candidate) > max_chars and current:
            out.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        out.append(current)
    return [p for p in out if p]


def _cap(pieces: list[str], max_steps: int) -> list[str]:
    if len(pieces) <= max_steps:
        return pieces
    size = math.ceil(len(pieces) / max_steps)
    return ["\n".join(pieces[i:i + size]) for i in range(0, len(pieces), size)]


def segment(text: str, seg: Segmentation | None = None) -> list[str]:
    """The steps of `text` by `seg` (default: `auto`); every character of the text but the separators is in one
    step, in order. `auto` with no other option is exactly what imports did before there were strategies, so a
    file imported again gives the same solutions."""
    seg = seg or Segmentation()
    if seg == Segmentation():
        return split_steps(text)
    pieces = _pieces(text, seg)
    if seg.max_chars:
        pieces = [part for piece in pieces for part in _cut_long(piece, seg.max_chars)]
    if seg.min_chars:
        pieces = _merge_short(pieces, seg.min_chars)
    pieces = _keep_answer_last(pieces)
    if seg.max_steps:
        pieces = _cap(pieces, seg.max_steps)
    return pieces


def from_options(options: dict | None) -> Segmentation:
    """A Segmentation from JSON-ish options (an import's, a request's); unknown keys are refused by name."""
    options = dict(options or {})
    known = {"strategy", "markers", "min_chars", "max_chars", "max_steps"}
    if unknown := sorted(set(options) - known):
        raise SegmentationError(unknown[0], f"is not a segmentation option (one of {', '.join(sorted(known))})")
    markers = options.pop("markers", None)
    if markers is not None:
        if isinstance(markers, str):
            markers = [markers]
        if not isinstance(markers, list) or not all(isinstance(m, str) for m in markers):
            raise SegmentationError("markers", "must be a list of strings")
        options["markers"] = tuple(markers)
    return Segmentation(**options)
