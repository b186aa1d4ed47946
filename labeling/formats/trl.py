"""The rated step sequences inside one labelled pass, shared by TRL export and PRM training."""
from collections.abc import Iterator

HUMAN_RATING = 1  # a step the annotator wrote because no candidate was acceptable counts as correct


def rated_paths(steps: list) -> Iterator[tuple[list[str], list[int | None]]]:
    """(texts, ratings) sequences of a pass's `label.steps`.

    Follows the chosen path. Each rated alternative that was not chosen ends a sequence
    of its own (the path so far + that alternative); the chosen path is the last one (as
    TRL's own PRM800K conversion does). Ratings are -1/0/+1, or None for an unrated
    chosen step.
    """
    texts: list[str] = []
    ratings: list[int | None] = []
    for step in steps:
        chosen = step.get("chosen_completion")
        for i, comp in enumerate(step.get("completions") or []):
            if i != chosen and comp.get("rating") is not None:
                yield texts + [comp["text"]], ratings + [comp["rating"]]
        if chosen is not None:
            comp = step["completions"][chosen]
            rating = comp.get("rating")
        elif step.get("human_completion"):
            comp, rating = step["human_completion"], HUMAN_RATING
        else:
            break
        texts.append(comp["text"])
        ratings.append(rating)
    if texts:
        yield texts, ratings


def _step_label(rating, neutral: str) -> bool | None:
    """The boolean training label of a rating; None = cannot be used."""
    if rating is None:
        return None
    if rating == 0:
        return {"positive": True, "negative": False, "drop": None}[neutral]
    return rating == 1


def _cut(completions: list[str], labels: list) -> dict | None:
    # Under the "drop" policy a neutral step cannot be labelled; the row ends before it.
    if None in labels:
        i = labels.index(None)
        completions, labels = completions[:i], labels[:i]
    return {"completions": completions, "labels": labels} if completions else None


def trl_rows(prompt: str, steps: list, neutral: str = "positive") -> Iterator[dict]:
    """TRL stepwise-supervision rows of one pass (see `paths.rated_paths` for which).

    Rows that the neutral policy makes identical are written once.
    """
    seen: set = set()
    for texts, ratings in rated_paths(steps):
        row = _cut(texts, [_step_label(r, neutral) for r in ratings])
        if row is None:
            continue
        key = (tuple(row["completions"]), tuple(row["labels"]))
        if key not in seen:
            seen.add(key)
            yield {"prompt": prompt, **row}
