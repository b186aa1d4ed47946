"""Where sources agree: automatic labels against people's, and against each other, computed with
aggregates in the database (no per-row Python), so the figures hold at 10^5 solutions.

Every label is read as its first error (a human pass: LabeledPass.first_error; an automatic one:
StepLabels.first_error), and the per-step labels it implies: +1 before it, -1 at it, nothing after
(-1: every step +1), the shape of PRM800K and ProcessBench labels. For one pair of labels on a
solution of n steps, with h, a the first errors (n when there is none), the steps both label are
0..m, m = min(last labelled step of each), and the 2x2 counts of (human, automatic) per step are:

- both +1: min(m + 1, h, a);  human +1, automatic -1: 1 if a < h;  human -1, automatic +1: 1 if h < a;
  both -1: 1 if h = a < n.

From these: Cohen's kappa per step, the first-error agreement (h = a), the 2x2 confusion of
"found an error" per solution, and ProcessBench's F1 (people as the reference).
"""
from django.db.models import Case, Count, F, IntegerField, Q, Sum, When
from django.db.models.functions import Least

from labeling.models import LabeledPass, StepLabels


def _kappa(pp: int, pn: int, np_: int, nn: int) -> float | None:
    total = pp + pn + np_ + nn
    if not total:
        return None
    observed = (pp + nn) / total
    expected = ((pp + pn) * (pp + np_) + (np_ + nn) * (pn + nn)) / total ** 2
    return None if expected == 1 else (observed - expected) / (1 - expected)


def _processbench(exact: int, agg: dict) -> dict:
    """ProcessBench's figures, people as the reference: the accuracy on solutions with an error (the
    same first error), on those without (no error found), and their harmonic mean, its F1."""
    erroneous, correct = agg["both_error"] + agg["human_only"], agg["neither"] + agg["auto_only"]
    err = exact / erroneous if erroneous else None
    ok = agg["neither"] / correct if correct else None
    f1 = 2 * err * ok / (err + ok) if err is not None and ok is not None and err + ok else (
        0.0 if err is not None and ok is not None else None)
    return {"error_accuracy": err, "correct_accuracy": ok, "f1": f1}


def _pair_counts(qs, h: F, a: F, n: F) -> dict:
    """Aggregates over rows carrying two first errors `h`, `a` (-1: none) and a step count `n`."""
    hh = Case(When(**{f"{h.name}__gte": 0}, then=h), default=n, output_field=IntegerField())
    aa = Case(When(**{f"{a.name}__gte": 0}, then=a), default=n, output_field=IntegerField())
    last_h = Case(When(**{f"{h.name}__gte": 0}, then=h), default=n - 1, output_field=IntegerField())
    last_a = Case(When(**{f"{a.name}__gte": 0}, then=a), default=n - 1, output_field=IntegerField())
    qs = qs.annotate(_h=hh, _a=aa, _m=Least(last_h, last_a))
    agg = qs.aggregate(
        pairs=Count("pk"),
        pp=Sum(Least(F("_m") + 1, F("_h"), F("_a"))),
        pn=Count("pk", filter=Q(_a__lt=F("_h"))),
        np=Count("pk", filter=Q(_h__lt=F("_a"))),
        nn=Count("pk", filter=Q(_h=F("_a"), _h__lt=n)),
        same_first_error=Count("pk", filter=Q(_h=F("_a"))),
        both_error=Count("pk", filter=Q(_h__lt=n, _a__lt=n)),
        human_only=Count("pk", filter=Q(_h__lt=n, _a__gte=n)),
        auto_only=Count("pk", filter=Q(_h__gte=n, _a__lt=n)),
        neither=Count("pk", filter=Q(_h__gte=n, _a__gte=n)),
    )
    pairs = agg["pairs"] or 0
    pp, pn, np_, nn = (agg[k] or 0 for k in ("pp", "pn", "np", "nn"))
    return {"pairs": pairs, "processbench": _processbench(nn, agg),
            "first_error_agreement": agg["same_first_error"] / pairs if pairs else None,
            "step_kappa": _kappa(pp, pn, np_, nn),
            "step_confusion": {"human+1_auto+1": pp, "human+1_auto-1": pn, "human-1_auto+1": np_, "human-1_auto-1": nn},
            "solution_confusion": {"both_found_error": agg["both_error"], "only_human_found_error": agg["human_only"],
                                   "only_auto_found_error": agg["auto_only"], "neither": agg["neither"]}}


def _labels(projects: list[int] | None):
    labels = StepLabels.objects.filter(malformed=False, first_error__isnull=False)
    return labels if projects is None else labels.filter(solution__project_id__in=projects)


def against_people(runs=None, projects: list[int] | None = None) -> dict[str, dict]:
    """Per automatic source (and run), agreement with every human pass on the same solution (of `projects`,
    None: every project)."""
    labels = _labels(projects)
    if runs is not None:
        labels = labels.filter(run__in=runs)
    out = {}
    for source, key in labels.values_list("run__source", "run__key").distinct().order_by("run__source", "run__key"):
        pairs = LabeledPass.objects.filter(first_error__isnull=False, solution__auto_labels__run__key=key,
                                           solution__auto_labels__malformed=False,
                                           solution__auto_labels__first_error__isnull=False)
        pairs = pairs if projects is None else pairs.filter(project_id__in=projects)
        out[key] = {"source": source, **_pair_counts(pairs, F("first_error"), F("solution__auto_labels__first_error"),
                                                     F("solution__auto_labels__n_steps"))}
    return out


def between_runs(key_a: str, key_b: str, projects: list[int] | None = None) -> dict:
    """Two automatic runs against each other (`human` in the figures reads as `key_a`)."""
    qs = _labels(projects).filter(run__key=key_a, solution__auto_labels__run__key=key_b,
                                  solution__auto_labels__malformed=False,
                                  solution__auto_labels__first_error__isnull=False)
    return {"a": key_a, "b": key_b, **_pair_counts(qs, F("first_error"), F("solution__auto_labels__first_error"),
                                                   F("n_steps"))}


def disagreements(limit: int = 100, source_key: str | None = None, projects: list[int] | None = None):
    """Solutions whose labels disagree on the first error (people's and automatic ones, or two
    automatic runs), the most disagreeing first: one row per solution with its first errors."""
    labels = _labels(projects)
    if source_key:
        labels = labels.filter(run__key=source_key)
    per_solution = labels.values("solution_id").annotate(
        auto_values=Count("first_error", distinct=True),
        human_values=Count("solution__passes__first_error", distinct=True,
                           filter=Q(solution__passes__first_error__isnull=False)))
    ids = []
    for row in per_solution.order_by("-auto_values", "solution_id")[: limit * 5]:
        ids.append(row["solution_id"])
    rows = []
    human = dict(LabeledPass.objects.filter(solution_id__in=ids, first_error__isnull=False)
                 .values_list("solution_id").annotate(n=Count("id")).values_list("solution_id", "n"))
    by_solution: dict[int, dict] = {}
    for sid, key, fe in labels.filter(solution_id__in=ids).values_list("solution_id", "run__key", "first_error"):
        by_solution.setdefault(sid, {"auto": {}, "human": []})["auto"][key] = fe
    for sid, fe in LabeledPass.objects.filter(solution_id__in=ids, first_error__isnull=False).values_list(
            "solution_id", "first_error"):
        by_solution.setdefault(sid, {"auto": {}, "human": []})["human"].append(fe)
    for sid, d in by_solution.items():
        values = set(d["auto"].values()) | set(d["human"])
        if len(values) > 1:
            rows.append({"solution": sid, "first_errors": d["auto"], "human": sorted(d["human"]),
                         "distinct": len(values), "human_passes": human.get(sid, 0)})
    rows.sort(key=lambda r: (-r["distinct"], r["solution"]))
    return rows[:limit]

