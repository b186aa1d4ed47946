"""The rounds page (ML staff): start, watch, cancel and resume active-learning rounds. The
page's buttons and form call the REST API (api.views.rounds) with the session's CSRF token."""
import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from activelearn.models import Round
from activelearn.options import format_number
from activelearn.policy import best_of_n_runs, connection
from activelearn.rounds import presets
from activelearn.rounds.config import CONNECTION_OPTIONS, GROUPS, OPTIONS, config_of, with_defaults
from activelearn.rounds.progress import best_of_n_of, current_round, generation_charts, round_detail, validation_rows
from labeling.models import DEFAULT_PROJECT_ID
from labeling.people import projects, roles
from labeling.switcher import project_page

ROUNDS_LISTED = 100


# what an empty choice means, where it is not "the default"
EMPTY_CHOICE = {"generate_with": "none: no generation", "aggregation": "best on validation"}


def form_fields(project: int | None = None) -> list[dict]:
    """The start form, built from OPTIONS: one input (or select) per option, its default filled in
    (generation with the built-in demo policy where the demo problems are there to sample from)."""
    defaults = with_defaults({}, project if project is not None else DEFAULT_PROJECT_ID)
    fields = []
    for o in OPTIONS:
        choices = list(o.choices)
        if o.name in CONNECTION_OPTIONS:  # the project's own connections and the built-in ones, no other's
            choices = ["", *connection.names(project if project is not None else DEFAULT_PROJECT_ID)]
        if choices:
            widget, step = "select", None
        elif o.type in (int, float):
            widget, step = "number", "1" if o.type is int else "any"
        else:
            widget, step = "text", None
        # the project's own defaults (the quickstart's demo generation), as start_round's, else the option's
        value = defaults.get(o.name, o.default)
        if o.type is dict:
            default = json.dumps(value)
        else:
            default = "" if value is None else (format_number(value) if o.type is float else str(value))
        fields.append({"name": o.name, "label": o.name.replace("_", " "), "widget": widget, "step": step,
                       "empty_label": EMPTY_CHOICE.get(o.name, "default"),
                       "min": None if o.min is None else format_number(o.min),
                       "max": None if o.max is None else format_number(o.max),
                       "default": default, "help": o.help, "choices": choices, "nullable": o.nullable,
                       "type": o.type.__name__})
    return fields


def form_groups(fields: list[dict]) -> list[dict]:
    """The form's fields by GROUPS: each group's shown fields and its rarely changed ones (folded away)."""
    by_name = {f["name"]: f for f in fields}
    return [{"key": key, "title": title, "fields": [by_name[n] for n in shown], "more": [by_name[n] for n in more]}
            for key, title, shown, more in GROUPS]


def _best_of_n_rows(result: dict | None) -> list[dict]:
    """The latest best-of-N as table rows: per N, each method's accuracy in %."""
    if not result:
        return []
    methods = list(result["curves"])
    return [{"n": n, "cells": [100 * result["curves"][m][i]["accuracy"] for m in methods]}
            for i, n in enumerate(result["ns"])]


def _aggregation_rows(result: dict | None) -> list[dict]:
    """Best-of-N of the PRM under each aggregation, per N, in %."""
    by = (result or {}).get("prm_by_aggregation")
    if not by:
        return []
    return [{"n": n, "cells": [100 * by[how][i]["accuracy"] for how in by]} for i, n in enumerate(result["ns"])]


@require_safe
@login_required
@project_page(roles.VIEW_MODELS)
def rounds_page(request, project):
    generation = request.GET.get("generation", "")
    mine = Round.objects.select_related("created_by", "project").filter(project=project)
    if generation.isdigit():
        current = get_object_or_404(mine, generation=int(generation))
    else:
        current = current_round(project.pk)
    detail = round_detail(current) if current else None
    can_run = projects.may(request.user, roles.RUN_ROUNDS, project.pk)
    fields = form_fields(project.pk)
    page = {"can_run": can_run, "current": detail, "fields": [f["name"] for f in fields], "project": project.slug,
            "api": {"rounds": reverse("api-rounds"), "workers": reverse("api-workers"),
                    "round": reverse("api-round", args=[0]), "cancel": reverse("api-round-cancel", args=[0]),
                    "resume": reverse("api-round-resume", args=[0])},
            "page": reverse("rounds"), "presets": presets.as_page_data()}
    # the best-of-N the round on show recorded at its end, else the newest one of the project
    evaluation = (best_of_n_of(current) if current else None) or best_of_n_runs.latest(project.pk)
    best_of_n = evaluation.result | {"created_at": evaluation.created_at.isoformat()} if evaluation else None
    return render(request, "activelearn/rounds.html", {
        "groups": form_groups(fields), "presets": presets.PRESETS, "current": detail, "can_run": can_run,
        "page_data": page,
        "charts": generation_charts(project.pk), "best_of_n": best_of_n,
        "best_of_n_rows": _best_of_n_rows(best_of_n), "aggregation_rows": _aggregation_rows(best_of_n),
        "validation": validation_rows(current) if current else [], "project": project,
        "aggregation_named": bool(current and config_of(current).aggregation),
        "rounds": [(r, config_of(r)) for r in mine.order_by("-generation")[:ROUNDS_LISTED]]})
