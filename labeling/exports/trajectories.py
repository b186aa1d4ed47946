"""Labelled agent traces for export, AgentProcessBench's shapes (docs/agent-trajectories.md):

- `traces`: one line per set of labels, the trace as imported (every key, unchanged) plus `record_id`,
  `annotator`, `labeler` (the annotator's UUID), `step_labels` keyed by message index, `final_label` (the
  outcome rating), `updated_at` and the label keys the import kept. Imported again (import_solutions), it
  gives the same traces and the same passes.
- `labels`: the label lines alone (AgentProcessBench's `annotation_platform/data` files), for
  import_trajectory_labels onto traces already there.

People's passes come first, then each automatic run asked for (a model's lines carry `explanations`, so that
they import back as automatic labels). Streamed by keyset, a chunk of rows at a time.
"""
from collections.abc import Iterator

from django.db.models import F, QuerySet

from labeling.exports.step_labels import keyset
from labeling.formats import trajectories
from labeling.models import LabeledPass, StepLabels

SHAPES = ("traces", "labels")
CHUNK = 500


def step_labels(ratings: list, indexes: list[int]) -> dict[str, int]:
    """Per-step ratings as AgentProcessBench keys them: by message index, unrated steps left out."""
    return {str(indexes[k]): r for k, r in enumerate(ratings) if r is not None and k < len(indexes)}


def pass_ratings(steps: list) -> list:
    """Each step's rating of the solution's own text (the every-step protocol goes on after a -1)."""
    return [(s.get("completions") or [{}])[0].get("rating") for s in steps]


def _line(shape: str, row: dict, labels: dict) -> dict:
    if shape == "labels":
        return {"record_id": row["sol_source_id"], **labels}
    return {**row["sol_trace"], "record_id": row["sol_source_id"], **labels}


def _people(qs: QuerySet, shape: str) -> Iterator[dict]:
    qs = qs.annotate(sol_source_id=F("solution__source_id"), sol_trace=F("solution__extra__trajectory"),
                     sol_indexes=F("solution__extra__step_messages"), labeler=F("annotator__uuid"),
                     username=F("annotator__user__username"))
    fields = ("id", "steps", "extra", "submitted_at", "sol_source_id", "sol_trace", "sol_indexes", "labeler",
              "username")
    for rows in keyset(qs, fields, CHUNK):
        for r in rows:
            extra = r["extra"] or {}
            ratings = pass_ratings(r["steps"])
            complete = len(ratings) == len(r["sol_indexes"]) and None not in ratings
            labels = {"annotator": r["username"] or extra.get("annotator_name") or str(r["labeler"]),
                      "labeler": str(r["labeler"]),
                      "step_labels": step_labels(ratings, r["sol_indexes"]),
                      "final_label": extra.get("final_label"),
                      "updated_at": trajectories.timestamp_text(r["submitted_at"]),
                      # AgentProcessBench's word for a record with every turn rated
                      "status": "done" if complete else "in_progress",
                      **{k: extra[k] for k in trajectories.PASS_KEPT_KEYS if k in extra}}
            if "explanations" in extra:
                labels["explanations"] = extra["explanations"]
            yield _line(shape, r, labels)


def _automatic(qs: QuerySet, shape: str) -> Iterator[dict]:
    qs = qs.annotate(sol_source_id=F("solution__source_id"), sol_trace=F("solution__extra__trajectory"),
                     sol_indexes=F("solution__extra__step_messages"), run_model=F("run__model"),
                     run_key=F("run__key"))
    for rows in keyset(qs, ("id", "hard", "detail", "sol_source_id", "sol_trace", "sol_indexes", "run_model",
                             "run_key"), CHUNK):
        for r in rows:
            detail = r["detail"] or {}
            labels = {"annotator": r["run_model"] or r["run_key"].removeprefix(trajectories.RUN_PREFIX),
                      "step_labels": step_labels(r["hard"], r["sol_indexes"]),
                      "final_label": detail.get("final_label"), "explanations": detail.get("explanations") or {}}
            if detail.get("updated_at"):
                labels["updated_at"] = detail["updated_at"]
            yield _line(shape, r, labels)


def lines(project: int, shape: str = "traces", *, people: bool = True, runs: list[str] | tuple = (),
          include_qc: bool = False) -> Iterator[dict]:
    """The project's labelled traces: people's finished passes (QC and screening ones with `include_qc`), then
    the automatic labels of each run in `runs` (by key)."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}")
    if people:
        qs = LabeledPass.objects.filter(project_id=project, solution__extra__has_key="step_messages")
        if not include_qc:
            qs = qs.filter(is_quality_control=False, is_screening=False)
        yield from _people(qs, shape)
    for key in runs:
        yield from _automatic(StepLabels.objects.filter(run__key=key, solution__project_id=project,
                                                        solution__extra__has_key="step_messages",
                                                        malformed=False, hard__isnull=False), shape)
