"""How a causal-LM reward model reads a solution: the prompt format, the step tag, the good and bad tokens.

Public PRMs of the Math-Shepherd / RLHFlow shape are causal LMs: the solution is written in a
fixed format, and at a marked point after each step the model's next-token distribution is read;
the step's score is P(good) / (P(good) + P(bad)). `{read}` in `step` marks that point: the score
is read from the logits of the last token before it (for Math-Shepherd, the tag `ки` itself).

Templates take `{problem}` (prefix), `{step}`, `{index}` (1-based), `{tag}` and `{read}` (step);
the texts put into them are never themselves parsed as templates.
"""
import string
from dataclasses import asdict, dataclass, fields

PLACEHOLDERS = {"prefix": {"problem"}, "step": {"step", "index", "tag", "read"}}
NEUTRAL_AS = ("good", "bad")


@dataclass(frozen=True)
class StepFormat:
    prefix: str = "{problem}\n"
    step: str = "{step} {tag}{read}\n"
    tag: str = "<|step|>"  # added to the tokenizer as a special token when it is not a token already
    good: str = "+"  # a vocabulary entry as it is spelt there (e.g. "▁+"), text that is one token, or "id:N"
    bad: str = "-"
    neutral_as: str = "good"  # a neutral (0) label trains as this (PRM800K's score counts neutral as positive)

    def __post_init__(self):
        for name in ("prefix", "step"):
            template = getattr(self, name)
            if not isinstance(template, str):
                raise ValueError(f"step_format.{name} must be a string")
            try:
                used = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as exc:
                raise ValueError(f"step_format.{name}: {exc}") from None
            unknown = set(used) - PLACEHOLDERS[name]
            if unknown:
                raise ValueError(f"step_format.{name}: unknown placeholder(s) {sorted(unknown)}; "
                                 f"allowed: {sorted(PLACEHOLDERS[name])}")
            needed = "problem" if name == "prefix" else "step"
            if used.count(needed) != 1:
                raise ValueError(f"step_format.{name} must contain {{{needed}}} exactly once")
        if self.step.count("{read}") != 1:
            raise ValueError("step_format.step must contain {read} exactly once (where the score is read)")
        for name in ("tag", "good", "bad"):
            value = getattr(self, name)
            if not isinstance(value, str) or (name != "tag" and not value):
                raise ValueError(f"step_format.{name} must be a non-empty string")
        if self.good == self.bad:
            raise ValueError("step_format.good and step_format.bad must differ")
        if self.neutral_as not in NEUTRAL_AS:
            raise ValueError(f"step_format.neutral_as must be one of {NEUTRAL_AS}")

    def as_dict(self) -> dict:
        return asdict(self)

    def render(self, problem: str, steps: list[str]) -> tuple[str, list[int]]:
        """The text and, per step, the character offset where its score is read."""
        parts, reads, n = [self.prefix.format(problem=problem)], [], 0
        n = len(parts[0])
        for i, step in enumerate(steps, 1):
            head, tail = self.step.split("{read}")
            values = {"step": step, "index": i, "tag": self.tag}
            head_text, tail_text = head.format(**values), tail.format(**values)
            parts.append(head_text)
            n += len(head_text)
            reads.append(n)
            parts.append(tail_text)
            n += len(tail_text)
        return "".join(parts), reads


# Public shapes. Math-Shepherd (peiyi9979/math-shepherd-mistral-7b-prm): "{question} Step 1: ... ки\nStep 2: ... ки",
# read at the tag. RLHFlow (Llama3.1-8B-PRM-*): a chat; the problem and first step are the first user turn,
# each later step a user turn, and the score is read where the assistant's reply (`+`/`-`) would start.
PRESETS = {
    "stepwise": StepFormat(),
    "math-shepherd": StepFormat(prefix="{problem} ", step="Step {index}: {step} {tag}{read}\n", tag="ки"),
    "rlhflow": StepFormat(
        prefix="<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{problem} ",
        step="{step}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{read}+<|eot_id|>"
             "<|start_header_id|>user<|end_header_id|>\n\n", tag=""),
}


def step_format_of(value) -> StepFormat:
    """A StepFormat from a preset name, a dict of fields (a preset's fields overridden when it names
    `preset`), or a StepFormat. ValueError naming the field for anything else."""
    if isinstance(value, StepFormat):
        return value
    if value is None or value == "":
        return PRESETS["stepwise"]
    if isinstance(value, str):
        if value not in PRESETS:
            raise ValueError(f"step_format: unknown preset {value!r}; one of {sorted(PRESETS)} or an object")
        return PRESETS[value]
    if not isinstance(value, dict):
        raise ValueError("step_format must be a preset name or an object")
    value = dict(value)
    base = step_format_of(value.pop("preset", "stepwise"))
    known = {f.name for f in fields(StepFormat)}
    unknown = set(value) - known
    if unknown:
        raise ValueError(f"step_format: unknown field(s) {sorted(unknown)}; allowed: {sorted(known | {'preset'})}")
    return StepFormat(**{**base.as_dict(), **value})
