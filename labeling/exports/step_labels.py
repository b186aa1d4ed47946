"""Step labels by source, for export: people's (a pass's path), each automatic source's (a solution's
newest readable labels of that source, or one run's), and the consensus of a rollout source and a
judge (labeling.people.label_sources). Every row carries its provenance, so a training set made from them
says where each label came from; run parameters never hold a key (policy connections keep theirs
apart), and the solution-id list of a run is left out.

Shapes: labeling.formats.step_rows (Stepwise step-label JSONL, TRL, ProcessBench).
"""
from collections.abc import Iterator

from django.db.models import F, QuerySet

from labeling.formats.prm800k import path_ratings
from labeling.models import AutoLabelRun, LabeledPass, LabelSource
from labeling.people import label_sources
from labeling.people.label_sources import CONSENSUS, HUMAN

SOURCES = (HUMAN, *LabelSource.values, CONSENSUS)
CHUNK = 2000
_SOLUTION = dict(sol_steps=F("solution__steps"), sol_key=F("solution__content_hash"),
                 sol_generator=F("solution__generator"), sol_correct=F("solution__answer_is_correct"),
                 sol_source_id=F("solution__source_id"))


def keyset(qs: QuerySet, fields, chunk: int = CHUNK) -> Iterator[list[dict]]:
    """`qs`'s rows (`fields`, id among them) a page at a time by id: flat memory and no OFFSET however large."""
    last = 0
    while True:
        rows = list(qs.filter(id__gt=last).order_by("id").values(*fields)[:chunk])
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def _solution(row: dict) -> dict | None:
    if row["sol_key"] is None:
        return None
    return {"key": row["sol_key"], "generator": row["sol_generator"], "source_id": row["sol_source_id"],
            "final_answer_correct": row["sol_correct"]}


def _runs(ids) -> dict[int, dict]:
    out = {}
    for r in AutoLabelRun.objects.filter(id__in=set(ids)).values("id", "key", "source", "labeller_version", "model",
                                                                "params"):
        params = {k: v for k, v in (r.pop("params") or {}).items() if k != "solution_ids"}
        out[r.pop("id")] = {**r, "params": params}
    return out


def _automatic(qs: QuerySet, source: str) -> Iterator[dict]:
    qs = qs.annotate(**{**_SOLUTION, "problem_text": F("solution__problem__text")})
    fields = ("id", "hard", "soft", "first_error", "attempts", "rollouts", "created_at", "run_id", "problem_text",
              *_SOLUTION)
    for rows in keyset(qs, fields):
        runs = _runs(r["run_id"] for r in rows)
        for r in rows:
            yield {"source": source, "problem": r["problem_text"], "steps": r["sol_steps"], "labels": r["hard"],
                   "soft": r["soft"], "first_error": r["first_error"], "solution": _solution(r),
                   "provenance": {**runs[r["run_id"]], "step_labels_id": r["id"], "attempts": r["attempts"],
                                  "rollouts": r["rollouts"], "labelled_at": r["created_at"].isoformat()}}


def _path_text(step: dict) -> str:
    comps, chosen = step.get("completions") or [], step.get("chosen_completion")
    if chosen is not None and 0 <= chosen < len(comps):
        return comps[chosen]["text"]
    if step.get("human_completion"):
        return step["human_completion"]["text"]
    return comps[0]["text"] if comps else ""


def _human(include_qc: bool, project: int | None) -> Iterator[dict]:
    """A pass that ended with a solution or a found error (a given-up pass says nothing past it)."""
    qs = LabeledPass.objects.filter(first_error__isnull=False)
    if project is not None:
        qs = qs.filter(project_id=project)
    if not include_qc:
        qs = qs.filter(is_quality_control=False, is_screening=False)
    qs = qs.annotate(**{**_SOLUTION, "problem_text": F("problem__text"), "annotator_uuid": F("annotator__uuid")})
    fields = ("id", "steps", "first_error", "finish_reason", "submitted_at", "generation", "annotator_uuid",
              "problem_text", "step_notes", *_SOLUTION)
    for rows in keyset(qs, fields):
        for r in rows:
            ratings = path_ratings(r["steps"])
            # over a stored solution: its steps; phase 1 (no solution): the path the labeller took
            texts = (r["sol_steps"] if r["sol_steps"] is not None else [_path_text(s) for s in r["steps"]])
            notes = r["step_notes"] or {}
            yield {"source": HUMAN, "problem": r["problem_text"], "steps": texts[:len(ratings)], "labels": ratings,
                   "soft": None, "first_error": r["first_error"], "solution": _solution(r),
                   **({"notes": [notes.get(str(k)) for k in range(len(ratings))]} if notes else {}),
                   "provenance": {"pass_id": r["id"], "annotator": str(r["annotator_uuid"]),
                                  "submitted_at": r["submitted_at"].isoformat(),
                                  "finish_reason": r["finish_reason"], "generation": r["generation"]}}


def rows(source: str, *, run: str | None = None, include_qc: bool = False, project: int | None = None
         ) -> Iterator[dict]:
    """Label rows of one source (`run`: that run's labels only, for an automatic source), of one project (None:
    every project)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    if run and source in (HUMAN, CONSENSUS):
        raise ValueError(f"a run belongs to an automatic source, not to {source}")
    def mine(qs):
        return qs if project is None else qs.filter(solution__project_id=project)

    if source == HUMAN:
        yield from _human(include_qc, project)
    elif source == CONSENSUS:
        yield from _automatic(mine(label_sources.consensus()), CONSENSUS)
    elif run:
        yield from _automatic(mine(label_sources.readable([source]).filter(run__key=run)), source)
    else:
        yield from _automatic(mine(label_sources.newest([source])), source)
