"""Which labels a PRM trains on (read side): human passes only (the default, as the paper), human
plus consensus automatic labels (a rollout-family source and a judge name the same first error, as
Qwen2.5-Math-PRM filters them), or chosen sources with weights. Soft targets: where a source gives
a step's share of rollouts that reached the right answer, train towards it instead of 0/1.

An automatic label of a solution is its newest readable one per source (labeling.people.label_sources). As
with human passes, nothing after a step's first -1 is supervised, except on an agent's trace: there the
automatic labels rate every assistant turn (docs/agent-trajectories.md), and a turn after a wrong one is
trained on as labelled (the demo agent's checker gives -1 to the turns that carry a wrong value forward:
without them the PRM saw 89 of the checker's 213 wrong turns, bench/demo_agent.py).
"""
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from django.db.models import QuerySet

from activelearn.prm.backbone import CLASS_OF_RATING
from activelearn.prm.training_data import CHUNK, Item
from activelearn.prm.trajectory_text import with_context
from labeling.models import LabelSource
from labeling.people import label_sources
from labeling.people.label_sources import CONSENSUS, HUMAN

MIXES = ("human", "human+consensus", "sources")
SOURCES = (HUMAN, *LabelSource.values)
MAX_WEIGHT = 100.0


@dataclass
class LabelMix:
    mix: str = "human"
    weights: dict = field(default_factory=dict)  # "sources": source -> weight ("human" among them)
    soft: bool = False

    def __post_init__(self):
        if self.mix not in MIXES:
            raise ValueError(f"labels must be one of {', '.join(MIXES)}")
        self.weights = check_weights(self.weights) if self.mix == "sources" else {}
        if self.mix == "sources" and not self.weights:
            raise ValueError("labels=sources needs weights, e.g. {\"human\": 1, \"rollout\": 0.5}")

    @property
    def human_weight(self) -> float:
        return self.weights.get(HUMAN, 0.0) if self.mix == "sources" else 1.0

    def as_dict(self) -> dict:
        return asdict(self)


def check_weights(value) -> dict:
    """{source: weight}: a known source, a weight in (0, MAX_WEIGHT]."""
    if not isinstance(value, dict):
        raise ValueError("must be an object of source: weight")
    out = {}
    for name, w in value.items():
        if name not in SOURCES:
            raise ValueError(f"unknown source {name!r}: one of {', '.join(SOURCES)}")
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0 < w <= MAX_WEIGHT:
            raise ValueError(f"the weight of {name} must be a number in (0, {MAX_WEIGHT:g}]")
        out[name] = float(w)
    return out


def _classes(hard: list, soft: list | None, use_soft: bool, every: bool = False) -> tuple[list, list | None]:
    labels, probs = [], [] if use_soft and soft else None
    for i, r in enumerate(hard):
        labels.append(None if r is None else CLASS_OF_RATING[int(r)])
        if probs is not None:
            p = soft[i] if i < len(soft) else None
            # the share of right continuations: P(+1) = p, P(-1) = 1 - p; no soft value: the hard one
            probs.append(None if r is None else [1.0 - p, 0.0, p] if p is not None else None)
        if r == -1 and not every:
            break
    return labels, probs


def _items(qs: QuerySet, source: str, weight: float, use_soft: bool, counts: Counter) -> Iterator[Item]:
    last = 0
    while True:
        rows = list(qs.filter(id__gt=last).order_by("id").values_list(
            "id", "hard", "soft", "solution__steps", "solution__problem__text", "solution__problem__content_hash",
            "solution__extra__step_context")[:CHUNK])
        if not rows:
            return
        for _, hard, soft, steps, text, group, contexts in rows:
            steps = with_context(steps, contexts)
            labels, probs = _classes(hard, soft, use_soft, every=bool(contexts))  # a trace: every turn
            if all(c is None for c in labels):
                continue
            counts[source] += 1
            yield Item(text, steps[:len(labels)], labels, group, soft=probs, weight=weight, source=source)
        last = rows[-1][0]


def automatic_items(mix: LabelMix, counts: Counter, project: int | None = None) -> Iterator[Item]:
    """The automatic part of a mix (human passes come from training_data.prm_items), of one project (None:
    every project)."""
    def mine(qs):
        return qs if project is None else qs.filter(solution__project_id=project)

    if mix.mix == "human+consensus":  # people's labels come first: not where a person has labelled
        yield from _items(mine(label_sources.consensus(without_people=True)), CONSENSUS, 1.0, mix.soft, counts)
    elif mix.mix == "sources":
        for source, w in mix.weights.items():
            if source != HUMAN:
                yield from _items(mine(label_sources.newest([source])), source, w, mix.soft, counts)
