"""What an export reads: the passes to export and, per pass, the stored values its PRM800K record is
built from (keyset-paginated, JSON columns as text), for the writers and for API pages of passes."""
from collections.abc import Iterator

import orjson
from django.db import connection
from django.db.models import F, QuerySet, TextField
from django.db.models.functions import Cast

from labeling.formats.prm800k import build_record
from labeling.models import LabeledPass

EXPORT_CHUNK = 2000


def passes_for_export(generations: list[int] | None = None, include_qc: bool = False,
                      project: int | None = None) -> QuerySet:
    """The passes an export writes: of one project (None: every project)."""
    qs = LabeledPass.objects.all() if project is None else LabeledPass.objects.filter(project_id=project)
    if generations:
        qs = qs.filter(generation__in=generations)
    if not include_qc:
        qs = qs.filter(is_quality_control=False, is_screening=False)
    return qs


def export_rows(qs: QuerySet, chunk: int = EXPORT_CHUNK, with_notes: bool = False) -> Iterator[dict]:
    """The values `prm800k.build_record` needs, one dict per pass, in id order.

    Keyset pagination (id > last) keeps each query small and memory flat; JSON columns
    come back as text so they can be embedded without parsing.
    """
    qs = qs.order_by("id").values(
        "id", "submitted_at", "generation", "is_quality_control", "is_screening", "verifier_score",
        "total_time", "finish_reason",
        annotator_uuid=F("annotator__uuid"), problem_text=F("problem__text"),
        ground_truth_answer=F("problem__ground_truth_answer"),
        ground_truth_solution=F("problem__ground_truth_solution"),
        final_answer=F("solution__final_answer"),
    ).annotate(steps_text=Cast("steps", TextField()), solution_steps=Cast("solution__steps", TextField()),
               extra_text=Cast("extra", TextField()))
    if with_notes:
        qs = qs.annotate(notes_text=Cast("step_notes", TextField()))
    # PostgreSQL's `json` columns keep the text orjson wrote (JSONTextField, COPY); SQLite keeps what
    # Django's encoder wrote, so there it is written again as orjson would: an export is the same
    # bytes whichever database it comes from.
    canon = _canonical_json if connection.vendor != "postgresql" else None
    last = 0
    while True:
        rows = list(qs.filter(id__gt=last)[:chunk])
        if not rows:
            return
        for row in rows:
            row["steps"] = row.pop("steps_text")
            if canon:
                row["steps"] = canon(row["steps"])
                if row["solution_steps"] is not None:
                    row["solution_steps"] = canon(row["solution_steps"])
            extra = row.pop("extra_text")
            row["extra"] = orjson.loads(extra) if extra != "{}" else None  # most passes have none
            if with_notes:
                notes = row.pop("notes_text")
                row["step_notes"] = orjson.loads(notes) if notes and notes != "{}" else None
            yield row
        last = rows[-1]["id"]


def _canonical_json(text: str) -> str:
    return orjson.dumps(orjson.loads(text)).decode()


def pass_records(ids) -> dict[int, dict]:
    """PRM800K records of the given passes, by pass id (one query, for an API page)."""
    return {row["id"]: orjson.loads(orjson.dumps(build_record(row)))
            for row in export_rows(LabeledPass.objects.filter(id__in=list(ids)))}
