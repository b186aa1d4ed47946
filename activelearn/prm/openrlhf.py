"""The project's labels as OpenRLHF's PRM trainer (`openrlhf.cli.train_prm`) reads them.

Its ProcessRewardDataset takes one JSON row per solution: the text under `--input_key`, with a
placeholder token (`--placeholder_token`) after each step, and under `--label_key` one label per
placeholder, a reward token (`--reward_tokens`, the good one first) or a float. It tokenizes the text
as it is (no special tokens added) and trains the logits at each placeholder toward its label token:
a causal LM read at a step tag, which is what `register_model` brings back (causal.py).

The rows are written in a StepFormat whose tag is the placeholder and whose score is read right
after it, so a checkpoint trained on them is scored here exactly where it was trained. Steps after
the first negative are not in the row (they are unsupervised); a neutral step is the format's
`neutral_as`.
"""
from collections.abc import Iterator

import orjson

from activelearn.prm.step_format import StepFormat
from activelearn.prm.text import normalize
from activelearn.prm.training_data import prm_items

INPUT_KEY, LABEL_KEY = "input", "value"
NEUTRAL = ("positive", "negative", "keep")  # keep: the format's neutral_as


def check_format(fmt: StepFormat) -> None:
    """OpenRLHF reads at the placeholder itself: the tag must be there, right before `{read}`."""
    if not fmt.tag:
        raise ValueError("step_format.tag: OpenRLHF needs a placeholder token after each step; this format has none")
    head, _ = fmt.step.split("{read}")
    if not head.endswith("{tag}"):
        raise ValueError("step_format.step: OpenRLHF reads at the placeholder, so {read} must follow {tag} directly")


def rows(passes, fmt: StepFormat, neutral: str = "positive") -> Iterator[dict]:
    """One row per training sequence of the passes (a pass with rated alternatives gives several)."""
    check_format(fmt)
    if neutral not in NEUTRAL:
        raise ValueError(f"neutral must be one of {NEUTRAL}")
    neutral_good = fmt.neutral_as == "good" if neutral == "keep" else neutral == "positive"
    for item in prm_items(passes, neutral="keep"):
        labels = []
        for cls in item.labels:
            if cls is None:
                break
            labels.append(fmt.good if cls == 2 or (cls == 1 and neutral_good) else fmt.bad)
        if not labels:
            continue
        # a tag inside the text would be read as one more placeholder: OpenRLHF would mislabel every later step
        # normalised as the scoring here normalises (text.py), so training and scoring see the same text
        steps = [normalize(s).replace(fmt.tag, " ") for s in item.steps[:len(labels)]]
        text, _ = fmt.render(normalize(item.problem).replace(fmt.tag, " "), steps)
        yield {INPUT_KEY: text, LABEL_KEY: labels}


def lines(passes, fmt: StepFormat, neutral: str = "positive") -> Iterator[bytes]:
    for row in rows(passes, fmt, neutral):
        yield orjson.dumps(row) + b"\n"


def trainer_arguments(fmt: StepFormat) -> str:
    """The train_prm arguments that read these rows as written."""
    return (f"--input_key {INPUT_KEY} --label_key {LABEL_KEY} --placeholder_token {fmt.tag!r} "
            f"--reward_tokens {fmt.good!r} {fmt.bad!r}")
