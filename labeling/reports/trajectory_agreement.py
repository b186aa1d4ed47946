"""Agreement on agent traces, step by step (AgentProcessBench's comparison of judges with people).

labeling.reports.agreement reads every label as its first error, PRM800K's shape. Traces are rated on every
assistant turn (+1 / 0 / -1, a -1 does not end the pass) with an outcome rating for the whole trace, so here
each automatic run is paired with every person's pass on the same trace and compared on:

- each step both rated: the 3x3 confusion (person, model), the share agreeing and Cohen's kappa;
- the first wrong step (the first -1, or none): the share of pairs naming the same;
- the outcome (`final_label`): the share of pairs that agree, where both gave one.

People against each other (two annotators on one trace) come as the row `people`, for reference.
Read a chunk of passes at a time, with only their traces' automatic labels.
"""
from collections import defaultdict
from itertools import combinations

from labeling.models import LabeledPass, StepLabels

RATINGS = (1, 0, -1)
CHUNK = 1000
PEOPLE = "people"


def _kappa(confusion: dict) -> float | None:
    total = sum(confusion.values())
    if not total:
        return None
    observed = sum(confusion[(r, r)] for r in RATINGS) / total
    row = {r: sum(confusion[(r, a)] for a in RATINGS) / total for r in RATINGS}
    col = {a: sum(confusion[(r, a)] for r in RATINGS) / total for a in RATINGS}
    expected = sum(row[r] * col[r] for r in RATINGS)
    return None if expected == 1 else (observed - expected) / (1 - expected)


class _Tally:
    def __init__(self):
        self.pairs = 0
        self.confusion: dict = defaultdict(int)
        self.same_first = 0
        self.finals = 0
        self.same_final = 0

    def add(self, a: list, b: list, final_a, final_b) -> None:
        self.pairs += 1
        for x, y in zip(a, b, strict=False):
            if x is not None and y is not None:
                self.confusion[(x, y)] += 1
        if _first_wrong(a) == _first_wrong(b):
            self.same_first += 1
        if final_a is not None and final_b is not None:
            self.finals += 1
            self.same_final += final_a == final_b

    def figures(self) -> dict:
        steps = sum(self.confusion.values())
        return {"pairs": self.pairs, "steps": steps,
                "step_agreement": sum(self.confusion[(r, r)] for r in RATINGS) / steps if steps else None,
                "step_kappa": _kappa(self.confusion),
                "confusion": {f"{h:+d}/{a:+d}": self.confusion[(h, a)] for h in RATINGS for a in RATINGS},
                "first_wrong_agreement": self.same_first / self.pairs if self.pairs else None,
                "final_pairs": self.finals, "final_agreement": self.same_final / self.finals if self.finals else None}


def _first_wrong(ratings: list) -> int:
    return next((k for k, r in enumerate(ratings) if r == -1), -1)


def _ratings(steps: list, n: int) -> list:
    out = [(s.get("completions") or [{}])[0].get("rating") for s in steps[:n]]
    return out + [None] * (n - len(out))


def _people_pairs(tally: _Tally, group: dict) -> None:
    for (a, fa), (b, fb) in combinations(group.values(), 2):
        tally.add(a, b, fa, fb)


def every_step(project: int) -> dict[str, dict]:
    """Per automatic run (by key, and `people`): figures against people's passes on the project's traces."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    models: dict[str, str] = {}
    passes = LabeledPass.objects.filter(project_id=project, solution__extra__has_key="step_messages",
                                        is_quality_control=False, is_screening=False)
    last = 0
    while True:
        rows = list(passes.filter(id__gt=last).order_by("id").values(
            "id", "solution_id", "annotator_id", "steps", "extra", "solution__steps")[:CHUNK])
        if not rows:
            break
        last = rows[-1]["id"]
        auto = defaultdict(list)
        for sid, key, model, hard, detail in StepLabels.objects.filter(
                solution_id__in={r["solution_id"] for r in rows}, malformed=False, hard__isnull=False).values_list(
                "solution_id", "run__key", "run__model", "hard", "detail"):
            auto[sid].append((key, hard, (detail or {}).get("final_label")))
            models[key] = model
        for r in rows:
            n = len(r["solution__steps"])
            mine, final = _ratings(r["steps"], n), (r["extra"] or {}).get("final_label")
            for key, hard, auto_final in auto[r["solution_id"]]:
                tallies[key].add(mine, list(hard)[:n], final, auto_final)
    # people with each other: every two annotators' passes on one trace, a trace at a time
    group, current = {}, None
    for sid, who, steps, extra, sol_steps in passes.order_by("solution_id", "id").values_list(
            "solution_id", "annotator_id", "steps", "extra", "solution__steps").iterator(chunk_size=CHUNK):
        if sid != current:
            _people_pairs(tallies[PEOPLE], group)
            group, current = {}, sid
        group[who] = (_ratings(steps, len(sol_steps)), (extra or {}).get("final_label"))
    _people_pairs(tallies[PEOPLE], group)
    if not tallies[PEOPLE].pairs:
        del tallies[PEOPLE]
    return {key: {"model": models.get(key, ""), **t.figures()} for key, t in sorted(tallies.items())}
