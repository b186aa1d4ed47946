"""Thin HTML views. The labelling page's JSON calls go to the REST API (api.views.tasks),
which calls the same labeling.queue / labeling.submission accounts."""
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from labeling import agreement, quality
from labeling.models import Annotator, AutoLabelRun
from labeling.people import accounts, roles
from labeling.queue import claims as queue
from labeling.queue import screening
from labeling.queue.payloads import task_payload
from labeling.selectors import dataset_counts


@require_safe
def home(request):
    return render(request, "labeling/home.html", {"counts": dataset_counts()})


@require_safe
@login_required
@permission_required(roles.LABEL, raise_exception=True)
# KaTeX lays formulas out with style attributes (struts, SVG widths); this page alone may use them.
# They cannot run script, and <style> elements and outside stylesheets stay refused.
@csp_update({"style-src-attr": ["'unsafe-inline'"]})
def label_page(request):
    task = queue.next_task(accounts.annotator_for(request.user))
    return render(request, "labeling/label.html", {"task": task_payload(task)})


@require_safe
@login_required
def progress_page(request):
    annotator = accounts.annotator_for(request.user)
    return render(request, "labeling/progress.html", {"progress": quality.annotator_progress(annotator)})


@require_safe
@login_required
@permission_required(roles.QUALITY, raise_exception=True)
def quality_page(request):
    rows = quality.annotator_table()
    return render(request, "labeling/quality.html", {
        "rows": rows, "iaa": quality.inter_annotator_agreement(),
        "can_decide_screening": request.user.has_perm(roles.MANAGE_USERS),
        "chart": {"labels": [r["username"] for r in rows], "passes": [r["passes"] for r in rows],
                  "qc": [r["qc_agreement"] for r in rows], "seconds_per_step": [r["seconds_per_step"] for r in rows]}})


@require_safe
@login_required
@permission_required(roles.QUALITY, raise_exception=True)
def label_agreement_page(request):
    """Automatic label sources against people's labels, and the solutions where labels disagree."""
    rows = [{"key": key, **fig, "steps": " · ".join(str(v) for v in fig["step_confusion"].values())}
            for key, fig in agreement.against_people().items()]
    return render(request, "labeling/label_agreement.html", {
        "rows": rows, "disagreements": agreement.disagreements(100),
        "runs": AutoLabelRun.objects.order_by("-id")[:50]})


@login_required
@permission_required(roles.MANAGE_USERS, raise_exception=True)
@require_POST
def screening_decision(request, annotator_uuid):
    target = get_object_or_404(Annotator, uuid=annotator_uuid)
    try:
        screening.decide_screening(target, request.POST.get("action"), actor=request.user)
    except ValueError as exc:
        return JsonResponse({"error": str(exc), "field": "action"}, status=400)
    return redirect("quality")
