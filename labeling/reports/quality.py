"""Read-side quality figures: per-annotator progress, QC agreement, inter-annotator agreement."""
from collections import defaultdict
from datetime import UTC, datetime
from itertools import combinations

import numpy as np
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from labeling.formats.prm800k import first_error
from labeling.models import Annotator, LabeledPass, LeaseStatus, ProjectMember, ServeReason


def _gold_agreement(passes) -> tuple[int, int]:
    pairs = [(first_error(p.steps), p.solution.gold_first_error) for p in passes
             if p.solution is not None and p.solution.gold_first_error is not None]
    return sum(a == b for a, b in pairs), len(pairs)


def annotator_progress(annotator: Annotator, now: datetime | None = None) -> dict:
    """What annotators see of their own work. A QC question must read like any other task, so
    nothing here moves when one is answered: one count for all passes, and QC agreement over the
    QC passes submitted before today (UTC) only, which cannot tell which of today's tasks was one."""
    now = now or timezone.now()
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    passes = annotator.passes.all()
    qc = passes.filter(is_quality_control=True, submitted_at__lt=midnight).select_related("solution")
    agree, n = _gold_agreement(qc)
    return {"passes": passes.count(), "qc_agreement": agree / n if n else None, "qc_answered": n,
            "qc_as_of": midnight.isoformat(),
            "screening_passed": annotator.screening_passed_at is not None,
            "screening_agreement": annotator.screening_agreement,
            "open_leases": annotator.leases.filter(status=LeaseStatus.OPEN).count()}


def _within(qs, projects: list[int] | None, field: str = "project_id"):
    """`qs` in those projects (None: every project)."""
    return qs if projects is None else qs.filter(**{f"{field}__in": projects})


def annotator_table(projects: list[int] | None = None) -> list[dict]:
    """One row per annotator with a login (a member of one of `projects`, None: anyone): throughput, time per
    step, QC agreement, screening, over their passes in those projects."""
    rows = []
    mine = None if projects is None else Q(passes__project_id__in=projects)
    annotators = Annotator.objects.filter(user__isnull=False).select_related("user")
    if projects is not None:
        annotators = annotators.filter(user__project_roles__project_id__in=projects).distinct()
    annotators = annotators.annotate(n_passes=Count("passes", filter=mine), time_ms=Sum("passes__total_time",
                                                                                        filter=mine))
    if projects is not None and len(projects) == 1:  # one project's page: its screening, on the membership
        annotators = annotators.annotate(member_passed=Subquery(ProjectMember.objects.filter(
            project_id=projects[0], user_id=OuterRef("user_id")).values("screening_passed_at")[:1]))
    for a in annotators:
        passes = _within(a.passes.all(), projects)
        steps = sum(len(s) for s in passes.values_list("steps", flat=True)) if a.n_passes else 0
        agree, n = _gold_agreement(passes.filter(is_quality_control=True).select_related("solution"))
        hours = (a.time_ms or 0) / 3_600_000
        rows.append({
            "uuid": str(a.uuid), "username": a.user.username, "role": a.role, "passes": a.n_passes,
            "steps_rated": steps, "passes_per_hour": a.n_passes / hours if hours else None,
            "seconds_per_step": (a.time_ms or 0) / 1000 / steps if steps else None,
            "qc_agreement": agree / n if n else None, "qc_answered": n,
            "screening": "passed" if a.screening_passed_at or getattr(a, "member_passed", None) else (
                "review" if a.leases.filter(reason=ServeReason.SCREENING, status=LeaseStatus.SUBMITTED).exists()
                else "pending"),
            "screening_agreement": a.screening_agreement,
        })
    return rows


def inter_annotator_agreement(projects: list[int] | None = None) -> dict:
    """Krippendorff's alpha (ordinal) on step ratings of solutions with several passes,
    and raw agreement on the first wrong step between every two passes of a solution."""
    import krippendorff

    by_solution = defaultdict(list)
    multi = _within(LabeledPass.objects.filter(solution__isnull=False), projects).values("solution_id") \
        .annotate(n=Count("id")) \
        .filter(n__gte=2).values_list("solution_id", flat=True)
    for sid, aid, steps in LabeledPass.objects.filter(solution_id__in=multi).values_list(
            "solution_id", "annotator_id", "steps"):
        by_solution[sid].append((aid, steps))
    coders = sorted({aid for passes in by_solution.values() for aid, _ in passes})
    units = [(sid, k) for sid, passes in by_solution.items() for k in range(max(len(s) for _, s in passes))]
    if not units or len(coders) < 2:
        return {"solutions": len(by_solution), "alpha": None, "first_error_agreement": None, "pairs": 0}
    col = {u: j for j, u in enumerate(units)}
    row = {c: i for i, c in enumerate(coders)}
    data = np.full((len(coders), len(units)), np.nan)
    agree = pairs = 0
    for sid, passes in by_solution.items():
        for aid, steps in passes:
            for k, step in enumerate(steps):
                comps = step.get("completions") or []
                if comps and comps[0].get("rating") is not None:
                    data[row[aid], col[(sid, k)]] = comps[0]["rating"]
        for (_, a), (_, b) in combinations(passes, 2):
            pairs += 1
            agree += first_error(a) == first_error(b)
    try:
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal",
                                         value_domain=[-1, 0, 1]))
    except ValueError:  # one value only: alpha is undefined
        alpha = None
    return {"solutions": len(by_solution), "alpha": alpha if alpha == alpha else None,
            "first_error_agreement": agree / pairs if pairs else None, "pairs": pairs}


def suggestion_figures(projects: list[int] | None = None) -> dict:
    """How suggestions were used, so anchoring shows in figures: of the rated steps that had a suggestion, the
    share whose rating kept it; and first-error agreement with gold on QC questions answered with suggestions
    shown and without."""
    passes = _within(LabeledPass.objects.all(), projects)
    kept = changed = shown = 0
    for s in passes.exclude(suggestions={}).values_list("suggestions", flat=True).iterator():
        shown += 1
        for v in s.get("kept") or []:
            kept += v is True
            changed += v is False
    qc = list(passes.filter(is_quality_control=True).select_related("solution"))
    out = {"passes": shown, "steps": kept + changed, "kept": kept, "changed": changed,
           "acceptance": kept / (kept + changed) if kept + changed else None}
    for name, group in (("qc_with", [p for p in qc if p.suggestions]), ("qc_without", [p for p in qc
                                                                                       if not p.suggestions])):
        agree, n = _gold_agreement(group)
        out[name] = {"answered": n, "agreement": agree / n if n else None}
    return out
