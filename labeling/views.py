"""Thin views: the labelling page and its JSON endpoints call labeling.queue / submission."""
import uuid

import orjson
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import quality, queue, selectors, services
from .models import Annotator, Role
from .submission import SubmissionError, save_draft, submit_pass


def home(request):
    return render(request, "labeling/home.html", {"counts": selectors.dataset_counts()})


def annotator_for(user) -> Annotator:
    """The user's annotator profile; superusers made by createsuperuser get one on first use."""
    annotator = getattr(user, "annotator", None)
    if annotator is None:
        annotator, _ = Annotator.objects.get_or_create(user=user, defaults={
            "role": Role.ADMIN if user.is_superuser else Role.ANNOTATOR})
    return annotator


def task_payload(task) -> dict:
    if isinstance(task, queue.NoTask):
        return {"lease": None, "reason": task.reason, "message": task.message}
    solution = task.solution
    return {"lease": {"id": str(task.id), "reason": task.reason, "problem": solution.problem.text,
                      "ground_truth_answer": solution.problem.ground_truth_answer, "steps": solution.steps,
                      "alternatives": solution.extra.get("alternatives", {}),
                      "draft": task.draft, "expires_at": task.expires_at.isoformat()}}


@login_required
def label_page(request):
    task = queue.next_task(annotator_for(request.user))
    return render(request, "labeling/label.html", {"task": task_payload(task)})


def _json_body(request) -> dict:
    try:
        body = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise SubmissionError("body", f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise SubmissionError("body", "must be a JSON object")
    return body


def _error(exc: SubmissionError) -> JsonResponse:
    return JsonResponse({"error": exc.message, "field": exc.field}, status=404 if exc.field == "lease" else 400)


@login_required
@require_POST
def api_next(request):
    return JsonResponse(task_payload(queue.next_task(annotator_for(request.user))))


@login_required
@require_POST
def api_draft(request, lease_id):
    try:
        body = _json_body(request)
        ratings = body.get("ratings", [])
        if not isinstance(ratings, list) or not all(isinstance(r, dict) for r in ratings):
            raise SubmissionError("ratings", "must be a list of {rating, flagged} objects")
        active_ms = body.get("active_ms", 0)
        if isinstance(active_ms, bool) or not isinstance(active_ms, int) or active_ms < 0:
            raise SubmissionError("active_ms", "must be a non-negative integer")
        save_draft(annotator_for(request.user), lease_id, ratings, active_ms)
    except SubmissionError as exc:
        return _error(exc)
    return JsonResponse({"ok": True})


@login_required
@require_POST
def api_submit(request, lease_id):
    annotator = annotator_for(request.user)
    try:
        body = _json_body(request)
        ratings = body.get("ratings", [])
        if not isinstance(ratings, list) or not all(isinstance(r, dict) for r in ratings):
            raise SubmissionError("ratings", "must be a list of {rating, flagged} objects")
        reason_text = body.get("reason_text") or ""
        if not isinstance(reason_text, str):
            raise SubmissionError("reason_text", "must be text")
        try:
            client_id = uuid.UUID(str(body.get("client_id")))
        except ValueError:
            raise SubmissionError("client_id", "must be a UUID") from None
        before = annotator.passes.filter(client_id=client_id).exists()
        labeled = submit_pass(annotator, lease_id, client_id, ratings, body.get("finish_reason", ""),
                              body.get("total_time"), reason_text)
    except SubmissionError as exc:
        return _error(exc)
    return JsonResponse({"pass": labeled.pk, "duplicate": before})


def is_quality_viewer(user) -> bool:
    return user.is_superuser or annotator_for(user).role in (Role.ADMIN, Role.ML_STAFF)


@login_required
def progress_page(request):
    annotator = annotator_for(request.user)
    return render(request, "labeling/progress.html", {"progress": quality.annotator_progress(annotator)})


@login_required
def quality_page(request):
    if not is_quality_viewer(request.user):
        raise PermissionDenied("admins and ML staff only")
    rows = quality.annotator_table()
    return render(request, "labeling/quality.html", {
        "rows": rows, "iaa": quality.inter_annotator_agreement(),
        "chart": {"labels": [r["username"] for r in rows], "passes": [r["passes"] for r in rows],
                  "qc": [r["qc_agreement"] for r in rows], "seconds_per_step": [r["seconds_per_step"] for r in rows]}})


@login_required
@require_POST
def screening_decision(request, annotator_uuid):
    if annotator_for(request.user).role != Role.ADMIN and not request.user.is_superuser:
        raise PermissionDenied("admins only")
    target = get_object_or_404(Annotator, uuid=annotator_uuid)
    action = request.POST.get("action")
    if action == "approve":
        services.approve_screening(target)
    elif action == "reset":
        services.reset_screening(target)
    else:
        return JsonResponse({"error": "action must be approve or reset", "field": "action"}, status=400)
    return redirect("quality")
