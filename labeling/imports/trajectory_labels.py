"""Importing label files of agent traces (AgentProcessBench's `annotation_platform/data/...` lines:
`{record_id, annotator, step_labels: {"<message index>": -1|0|1}, final_label, explanations?, updated_at}`)
onto traces imported before (labeling.formats.trajectories), matched by `record_id` within the project.

A person's lines become passes (the outcome rating in the pass's `extra["final_label"]`); a model's
(`explanations` present, or `kind="model"`) become automatic labels of the run
`imported:agentprocessbench:<model>`, source `imported`, never passes. AgentProcessBench appends a line at
every save: only each (record, labeller)'s latest line counts, the earlier ones are counted as superseded.
All or nothing per file, through the import machinery (labeling.imports.files.run_import).
"""
from dataclasses import dataclass
from pathlib import Path

from labeling.formats import trajectories
from labeling.formats.errors import ImportFileError, LocatedError, RecordError, json_type
from labeling.formats.items import ImportItem, ProblemIn, SolutionIn
from labeling.formats.prm800k import parse_timestamp
from labeling.imports import readers
from labeling.imports.files import run_import
from labeling.imports.writer import ImportStats
from labeling.models import DEFAULT_PROJECT_ID, AutoLabelRun, Solution

KINDS = ("auto", "people", "model")
RUN_PREFIX = trajectories.RUN_PREFIX


@dataclass(slots=True)
class _Trace:
    problem_key: str
    problem_text: str
    solution_key: str
    steps: list
    indexes: list


def _labeller_name(rec: dict) -> str:
    name = rec.get("annotator") if isinstance(rec.get("annotator"), str) else rec.get("username")
    return name if isinstance(name, str) else ""


def _when(rec: dict) -> str:
    v = rec.get("updated_at")
    return parse_timestamp(v, "updated_at").isoformat() if v is not None else ""


def _scan(path) -> tuple[dict[tuple[str, str], tuple[str, str]], set[str]]:
    """First reading: each (record, labeller)'s latest line (its time and where it is), and the records named.
    Bounded by the file's number of lines, whose length the reader bounds."""
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for where, rec in readers.iter_jsonl(path):
        try:
            if not trajectories.is_label_line(rec):
                raise RecordError("", "not a label line of a trace: expected `record_id` and `step_labels`, got keys "
                                      f"{sorted(rec)[:8] if isinstance(rec, dict) else json_type(rec)}")
            when = _when(rec)
        except RecordError as exc:
            raise LocatedError(where, exc) from None
        key = (rec["record_id"], _labeller_name(rec))
        if key not in latest or when >= latest[key][0]:
            latest[key] = (when, where)
    return latest, {rid for rid, _ in latest}


def _traces(record_ids: set[str], project: int) -> dict[str, list[_Trace]]:
    out: dict[str, list[_Trace]] = {}
    ids = sorted(record_ids)
    for start in range(0, len(ids), 1000):
        rows = Solution.objects.filter(project_id=project, source_id__in=ids[start:start + 1000],
                                       extra__has_key="step_messages").values_list(
            "source_id", "content_hash", "steps", "extra__step_messages", "problem__content_hash", "problem__text")
        for rid, key, steps, indexes, pkey, ptext in rows:
            out.setdefault(rid, []).append(_Trace(pkey, ptext, key, steps, indexes))
    return out


def _parser(traces: dict[str, list[_Trace]], kind: str):
    def parse(rec: dict) -> ImportItem:
        found = traces.get(rec["record_id"], [])
        if not found:
            raise RecordError("record_id", f"no trace {rec['record_id'][:80]!r} in this project: import the trace "
                                           "file first")
        if len(found) > 1:
            raise RecordError("record_id", f"{len(found)} traces of this project have the id "
                                           f"{rec['record_id'][:80]!r} (versions of one trace file?)")
        t = found[0]
        item = ImportItem(problem=ProblemIn(key=t.problem_key, text=t.problem_text),
                          solution=SolutionIn(key=t.solution_key, problem_key=t.problem_key, steps=t.steps))
        trajectories.add_labels(item, rec, t.steps, t.indexes,
                                model=kind == "model" or (kind == "auto" and "explanations" in rec))
        return item
    return parse


def name_models(project: int) -> None:
    """The model of each imported run, by its key (the import writer knows runs by key only)."""
    for run in AutoLabelRun.objects.filter(key__startswith=RUN_PREFIX, project_id=project, model=""):
        run.model = run.key.removeprefix(RUN_PREFIX)
        run.save(update_fields=["model"])


@dataclass
class LabelImportStats(ImportStats):
    superseded: int = 0  # earlier saves of a (record, labeller) the file holds a later line of

    def summary(self) -> str:
        return super().summary() + (f"; {self.superseded} earlier saves superseded" if self.superseded else "")


def import_trajectory_labels(path: str | Path, *, kind: str = "auto", project: int = DEFAULT_PROJECT_ID,
                             dry_run: bool = False, progress=None) -> LabelImportStats:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    try:
        latest, record_ids = _scan(path)
    except LocatedError as exc:
        raise ImportFileError(str(path), exc.where, exc.error) from None
    except OSError as exc:
        raise ImportFileError(str(path), "read", exc) from None
    keep = {where for _, where in latest.values()}
    skipped = 0

    def records():
        nonlocal skipped
        for where, rec in readers.iter_jsonl(path):
            if where in keep:
                yield where, rec
            else:
                skipped += 1

    stats = run_import(path, records(), _parser(_traces(record_ids, project), kind), dry_run=dry_run,
                       progress=progress, project=project)
    if not dry_run:
        name_models(project)
    return LabelImportStats(**vars(stats), superseded=skipped)
