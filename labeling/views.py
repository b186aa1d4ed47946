"""Thin HTML views. The labelling page's JSON calls go to the REST API (api.views.tasks),
which calls the same labeling.queue.claims / labeling.queue.submission code."""
from csp.decorators import csp_update
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from labeling.forms import MemberForm, ProjectSettingsForm
from labeling.models import Annotator, AutoLabelRun, Project
from labeling.people import accounts, authority, label_sources, projects, roles
from labeling.queue import claims as queue
from labeling.queue import screening
from labeling.queue.payloads import task_payload
from labeling.reports import agreement, quality, trajectory_agreement
from labeling.reports.reads import dataset_counts
from labeling.switcher import project_page


@require_safe
def home(request):
    return render(request, "labeling/home.html", {"counts": dataset_counts()})


def _page_project(project: Project | None) -> dict | None:
    """What the labelling page follows of a project: its guidelines and protocol."""
    if project is None:
        return None
    return {"slug": project.slug, "name": project.name, "guidelines": project.guidelines,
            "protocol": project.protocol, "allow_neutral": project.allow_neutral,
            "first_error_mode": project.first_error_mode, "error_taxonomy": project.error_taxonomy}


@require_safe
@login_required
@project_page(roles.LABEL, allow_all=True)
# KaTeX lays formulas out with style attributes (struts, SVG widths); this page alone may use them.
# They cannot run script, and <style> elements and outside stylesheets stay refused.
@csp_update({"style-src-attr": ["'unsafe-inline'"]})
def label_page(request, project):
    """The next task in the current project (or across the caller's, when they chose all of them); the task's
    own project sets the protocol and the guidelines shown."""
    try:
        task = queue.next_task(accounts.annotator_for(request.user), project=project.pk if project else None)
    except queue.NotAMember:  # a superuser looking at a project they do not label in
        task = queue.NoTask("no_project", f"You are not a member of {project.slug}: an admin of it can add you.")
    shown = project
    if not isinstance(task, queue.NoTask) and (project is None or task.solution.project_id != project.pk):
        shown = Project.objects.get(pk=task.solution.project_id)
    suggestion = None
    if not isinstance(task, queue.NoTask) and shown is not None and shown.suggestion_source:
        suggestion = label_sources.suggestion_for(task.solution_id, shown.suggestion_source)
    return render(request, "labeling/label.html", {"task": task_payload(task), "project": _page_project(shown),
                                                   "suggestion": suggestion})


@require_safe
@login_required
def progress_page(request):
    annotator = accounts.annotator_for(request.user)
    return render(request, "labeling/progress.html", {"progress": quality.annotator_progress(annotator)})


@require_safe
@login_required
@project_page(roles.QUALITY)
def quality_page(request, project):
    rows = quality.annotator_table([project.pk])
    return render(request, "labeling/quality.html", {
        "rows": rows, "iaa": quality.inter_annotator_agreement([project.pk]), "project": project,
        "suggested": quality.suggestion_figures([project.pk]),
        "can_decide_screening": request.user.has_perm(roles.MANAGE_USERS),
        "chart": {"labels": [r["username"] for r in rows], "passes": [r["passes"] for r in rows],
                  "qc": [r["qc_agreement"] for r in rows], "seconds_per_step": [r["seconds_per_step"] for r in rows]}})


@require_safe
@login_required
@project_page(roles.QUALITY)
def label_agreement_page(request, project):
    """Automatic label sources against people's labels, and the solutions where labels disagree (the project's)."""
    rows = [{"key": key, **fig, "steps": " · ".join(str(v) for v in fig["step_confusion"].values())}
            for key, fig in agreement.against_people(projects=[project.pk]).items()]
    return render(request, "labeling/label_agreement.html", {
        "rows": rows, "disagreements": agreement.disagreements(100, projects=[project.pk]), "project": project,
        "trajectory_rows": [{"key": k, **fig} for k, fig in trajectory_agreement.every_step(project.pk).items()],
        "runs": AutoLabelRun.objects.filter(project=project).order_by("-id")[:50]})


@login_required
@permission_required(roles.MANAGE_USERS, raise_exception=True)
@require_POST
def screening_decision(request, annotator_uuid):
    target = get_object_or_404(Annotator, uuid=annotator_uuid)
    if target.user is not None and not authority.covers(request.user, target.user):
        raise PermissionDenied("they have rights you do not have")  # approval opens every project's queue
    try:
        screening.decide_screening(target, request.POST.get("action"), actor=request.user)
    except ValueError as exc:
        return JsonResponse({"error": str(exc), "field": "action"}, status=400)
    return redirect("quality")


@login_required
def project_settings(request, slug):
    """A project's settings and members, for its admins (and superusers): GET shows them, POST changes one
    thing (the settings, a member's role, a member removed) and comes back here."""
    project = projects.visible_to(request.user).filter(slug=slug).first()
    if project is None:
        raise Http404("no such project of yours")
    if not projects.may(request.user, roles.MANAGE_USERS, project.pk):
        raise PermissionDenied(f"only admins of {project.slug} change its settings")
    form, member_form, error = ProjectSettingsForm(instance=project), MemberForm(), None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "settings":
            form = ProjectSettingsForm(request.POST, instance=Project.objects.get(pk=project.pk))
            if form.is_valid():
                projects.update_settings(project, {k: form.cleaned_data[k] for k in projects.SETTINGS},
                                         actor=request.user)
                return redirect("project-settings", slug=project.slug)
        elif action == "member":
            member_form = MemberForm(request.POST)
            if member_form.is_valid():
                projects.set_member(project, member_form.cleaned_data["username"], member_form.cleaned_data["role"],
                                    actor=request.user)
                return redirect("project-settings", slug=project.slug)
        elif action == "remove":
            user = get_user_model().objects.filter(username=request.POST.get("username", "")).first()
            if user is not None and user == request.user:
                error = "you cannot remove yourself"
            elif user is not None:
                projects.remove_member(project, user, actor=request.user)
                return redirect("project-settings", slug=project.slug)
            else:
                error = "no such member"
        else:
            error = "unknown action"
    members = project.members.select_related("user").order_by("user__username")
    status = 400 if request.method == "POST" else 200
    return render(request, "labeling/project_settings.html", {
        "project": project, "form": form, "member_form": member_form, "members": members, "error": error,
        "roles": roles.Role.choices}, status=status)
