"""Read-side queries for training and scoring: labelled data as model-ready items (labels up to the
first -1, none after it: docs/method.md, "The process reward model")."""
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Max, Min, QuerySet

from activelearn.prm.backbone import CLASS_OF_RATING
from activelearn.prm.trajectory_text import with_context
from labeling.formats.neutral import NEUTRAL_POLICIES
from labeling.formats.trl import rated_paths
from labeling.models import LabeledPass, Solution

CHUNK = 1000


@dataclass
class Item:
    """One training sequence: a problem, steps, and a class index (or None) per step."""

    problem: str
    steps: list[str]
    labels: list[int | None]
    group: str  # problem identity: train/validation split by problem, never inside one
    soft: list | None = None  # per step [P(-1), P(0), P(+1)] or None (the hard label), for soft targets
    weight: float = 1.0
    source: str = "human"


@dataclass
class Snapshot:
    passes: int = 0
    items: int = 0
    ratings: Counter = field(default_factory=Counter)
    generations: tuple = (None, None)

    def as_dict(self) -> dict:
        return {"passes": self.passes, "items": self.items,
                "ratings": {str(k): v for k, v in sorted(self.ratings.items(), key=lambda kv: str(kv[0]))},
                "generation_min": self.generations[0], "generation_max": self.generations[1]}


def _classes(ratings: list[int | None], neutral: str) -> list[int | None]:
    """Class index per step; nothing after the first negative is supervised."""
    out: list[int | None] = []
    for r in ratings:
        if r == 0 and neutral != "keep":
            r = {"positive": 1, "negative": -1, "drop": None}[neutral]
        out.append(None if r is None else CLASS_OF_RATING[r])
        if r == -1:
            break
    return out


def _starts_with(texts, labels, prefix_texts, prefix_labels) -> bool:
    n = len(prefix_texts)
    return len(texts) >= n and texts[:n] == prefix_texts and labels[:n] == prefix_labels


def prm_items(passes: QuerySet | None = None, neutral: str = "keep",
              snapshot: Snapshot | None = None) -> Iterator[Item]:
    """Training sequences from labelled passes (QC and screening passes included: they are real labels)."""
    if neutral not in NEUTRAL_POLICIES:
        raise ValueError(f"neutral must be one of {NEUTRAL_POLICIES}")
    qs = (passes if passes is not None else LabeledPass.objects.all()).order_by("id")
    if snapshot is not None:
        agg = qs.aggregate(lo=Min("generation"), hi=Max("generation"))
        snapshot.generations = (agg["lo"], agg["hi"])
    last = 0
    while True:
        rows = list(qs.filter(id__gt=last).values_list("id", "steps", "problem__text", "problem__content_hash",
                                                       "solution__extra__step_context")[:CHUNK])
        if not rows:
            return
        for _, steps, text, group, contexts in rows:
            if snapshot is not None:
                snapshot.passes += 1
            for texts, labels, ratings in pass_sequences(steps, neutral):
                if snapshot is not None:
                    snapshot.items += 1
                    snapshot.ratings.update(r for r in ratings[:len(labels)] if r is not None)
                yield Item(text, with_context(texts, contexts), labels, group)
        last = rows[-1][0]


def pass_sequences(steps: list, neutral: str = "keep") -> Iterator[tuple[list, list, list]]:
    """(texts, class per step, ratings) of each sequence one pass's `label.steps` trains on (prm_items;
    bench/phase1_prm.py reads a file's passes through it without a database)."""
    kept: list[tuple[list, list]] = []
    for texts, ratings in rated_paths(steps):
        labels = _classes(ratings, neutral)
        texts = texts[:len(labels)]
        # The chosen path of a found_error pass is a prefix of its erroneous row: the same
        # labels again would double the weight of those steps.
        if all(c is None for c in labels) or any(_starts_with(t, lab, texts, labels) for t, lab in kept):
            continue
        kept.append((texts, labels))
        yield texts, labels, ratings


def orm_items(solutions: QuerySet | None = None, snapshot: Snapshot | None = None) -> Iterator[Item]:
    """Outcome labels: one per solution at its last step, from final-answer correctness."""
    qs = (solutions if solutions is not None else Solution.objects.all()).filter(answer_is_correct__isnull=False)
    last = 0
    while True:
        rows = list(qs.order_by("id").filter(id__gt=last)
                    .values_list("id", "steps", "answer_is_correct", "problem__text", "problem__content_hash",
                                 "extra__step_context")[:CHUNK])
        if not rows:
            return
        for _, steps, correct, text, group, contexts in rows:
            steps = with_context(steps, contexts)
            if not steps:
                continue
            if snapshot is not None:
                snapshot.items += 1
                snapshot.ratings.update([1 if correct else -1])
            yield Item(text, steps, [None] * (len(steps) - 1) + [CLASS_OF_RATING[1 if correct else -1]], group)
        last = rows[-1][0]


def is_validation(group: str, fraction: float, seed: int = 0) -> bool:
    """Deterministic split by problem: the same problem is always on the same side."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{group}".encode()).digest()[:8], "big")
    return h / 2**64 < fraction
