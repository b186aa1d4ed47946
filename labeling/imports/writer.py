"""Writing validated import items in batches, resolving content hashes to the rows already there."""
import uuid
from dataclasses import dataclass, field

from django.db.models import Max
from django.utils import timezone

from labeling.formats import prm800k
from labeling.formats.items import ImportItem
from labeling.models import (
    DEFAULT_PROJECT_ID,
    Annotator,
    AutoLabelRun,
    LabeledPass,
    LabelSource,
    Problem,
    Project,
    RunStatus,
    Solution,
    StepLabels,
)
from labeling.queue.claims import enqueue_ids
from labeling.storage.bulk import among, insert_rows


def _kinds() -> dict:
    return {"problems": 0, "solutions": 0, "passes": 0, "step_labels": 0}


@dataclass
class ImportStats:
    """What an import did, per kind of row. Every problem, solution and pass a record names is
    counted once: `created`, `existing` (in the database before) or `repeated` (earlier in the
    same file), so for a PRM800K file records = passes created + existing + repeated."""

    records: int = 0
    created: dict = field(default_factory=lambda: {**_kinds(), "annotators": 0})
    existing: dict = field(default_factory=_kinds)
    repeated: dict = field(default_factory=_kinds)
    enqueued: int | None = None  # solutions put in the queue, when the import was asked to

    def summary(self) -> str:
        # step labels come only from files of automatic labels (Math-Shepherd): named when there are any
        shown = any(d["step_labels"] for d in (self.created, self.existing, self.repeated))

        def words(d: dict) -> str:
            return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in d.items() if shown or k != "step_labels")

        text = f"{self.records} records: created {words(self.created)}; already present {words(self.existing)}"
        if any(self.repeated.values()):
            text += "; repeated in the file " + words(self.repeated)
        if self.enqueued is not None:
            text += f"; queued {self.enqueued} solutions"
        return text


@dataclass(slots=True)
class StoredProblem:
    """What later batches need of a problem this import wrote (no model instance: 100,000 of those cost
    seconds)."""

    id: int
    ground_truth_answer: str | None
    ground_truth_solution: str | None


class BatchWriter:
    """Writes batches of ImportItems, resolving content hashes to existing rows.

    A row found with an id above the table's largest id when the import began was written by
    this import (an earlier batch): the record repeats one earlier in the file. Everything goes into one
    project, and rows are recognised within it only: the same problem in another project is another row.
    """

    def __init__(self, stats: ImportStats, *, enqueue: bool = False, project: int = DEFAULT_PROJECT_ID):
        self.stats = stats
        self.enqueue = enqueue
        self.project = project
        self.overlap = Project.objects.filter(pk=project).values_list("default_overlap", flat=True).first() or 1
        if enqueue:
            stats.enqueued = 0
        self._new_solutions: set[str] = set()
        self.before = {model: model.objects.aggregate(m=Max("id"))["m"] or 0
                       for model in (Problem, Solution, LabeledPass, StepLabels)}

    def _count_found(self, kind: str, model, ids) -> None:
        earlier = sum(i > self.before[model] for i in ids)
        self.stats.repeated[kind] += earlier
        self.stats.existing[kind] += len(ids) - earlier

    def _wanted(self, kind: str, keyed) -> dict:
        wanted = {}
        for key, value in keyed:
            if key in wanted:
                self.stats.repeated[kind] += 1
            else:
                wanted[key] = value
        return wanted

    def write(self, items: list[ImportItem]) -> None:
        problems = self._problems(items)
        solutions = self._solutions(items, problems)
        self._passes(items, problems, solutions)
        self._auto_labels(items, solutions)
        if self.enqueue:
            self._queue(items, solutions)

    def _problems(self, items) -> dict[str, Problem | StoredProblem]:
        wanted = self._wanted("problems", ((it.problem.key, it.problem) for it in items))
        found = {p.content_hash: p for p in Problem.objects.filter(among("content_hash", wanted),
                                                                   project_id=self.project)}
        self._count_found("problems", Problem, [p.id for p in found.values()])
        fill = []
        for key, p in found.items():
            if self._fill_in(p, wanted[key]):
                fill.append(p)
        if fill:
            Problem.objects.bulk_update(fill, ["ground_truth_answer", "ground_truth_solution", "subject", "level",
                                               "source_id"])
        new = [(k, p) for k, p in wanted.items() if k not in found]
        ids = insert_rows(Problem, [dict(project_id=self.project, content_hash=k, text=p.text,
                                         ground_truth_answer=p.ground_truth_answer,
                                         ground_truth_solution=p.ground_truth_solution, subject=p.subject,
                                         level=p.level, source_id=p.source_id) for k, p in new])
        for (k, p), id_ in zip(new, ids, strict=True):
            found[k] = StoredProblem(id_, p.ground_truth_answer, p.ground_truth_solution)
        self.stats.created["problems"] += len(new)
        return found

    @staticmethod
    def _fill_in(row: Problem, incoming) -> bool:
        # A later source may know more about a problem (e.g. MATH gives the answer
        # ProcessBench lacks): fill empty fields, never overwrite existing ones.
        changed = False
        for name in ("ground_truth_answer", "ground_truth_solution", "level"):
            if getattr(row, name) is None and getattr(incoming, name) is not None:
                setattr(row, name, getattr(incoming, name))
                changed = True
        for name in ("subject", "source_id"):
            if not getattr(row, name) and getattr(incoming, name):
                setattr(row, name, getattr(incoming, name))
                changed = True
        return changed

    def _solutions(self, items, problems) -> dict[str, int]:
        wanted = self._wanted("solutions", ((it.solution.key, it.solution) for it in items if it.solution is not None))
        if not wanted:
            return {}
        found = dict(Solution.objects.filter(among("content_hash", wanted), project_id=self.project)
                     .values_list("content_hash", "id"))
        self._count_found("solutions", Solution, list(found.values()))
        new = [dict(project_id=self.project, content_hash=k, problem_id=problems[s.problem_key].id, steps=s.steps,
                    final_answer=s.final_answer,
                    answer_is_correct=s.answer_is_correct, generator=s.generator, source_id=s.source_id,
                    verifier_score=s.verifier_score, generation=s.generation,
                    is_quality_control=s.is_quality_control, is_screening=s.is_screening, extra=s.extra)
               for k, s in wanted.items() if k not in found]
        found.update(zip((r["content_hash"] for r in new), insert_rows(Solution, new), strict=True))
        self._new_solutions = {r["content_hash"] for r in new}
        self.stats.created["solutions"] += len(new)
        return found

    def _passes(self, items, problems, solutions) -> None:
        wanted = self._wanted("passes", ((p.key, (it, p)) for it in items for p in it.passes))
        if not wanted:
            return
        existing = dict(LabeledPass.objects.filter(among("natural_key", wanted), project_id=self.project)
                        .values_list("natural_key", "id"))
        self._count_found("passes", LabeledPass, list(existing.values()))
        todo = [(it, p) for k, (it, p) in wanted.items() if k not in existing]
        annotators = self._annotators({p.annotator_uuid for _, p in todo})
        rows = []
        for it, p in todo:
            problem = problems[p.problem_key]
            self._question_overrides(p, it.problem, problem)
            rows.append(dict(
                project_id=self.project, natural_key=p.key, annotator_id=annotators[p.annotator_uuid],
                problem_id=problem.id,
                solution_id=solutions[p.solution_key] if p.solution_key else None, submitted_at=p.submitted_at,
                generation=p.generation, is_quality_control=p.is_quality_control, is_screening=p.is_screening,
                verifier_score=p.verifier_score, steps=p.steps, total_time=p.total_time,
                finish_reason=p.finish_reason, extra=p.extra,
                first_error=prm800k.pass_first_error(p.steps, p.finish_reason)))
        insert_rows(LabeledPass, rows, ids=False)
        self.stats.created["passes"] += len(rows)

    def _auto_labels(self, items, solutions) -> None:
        """Automatic labels from the file, one StepLabels row per run and solution (a re-import adds none)."""
        wanted = self._wanted("step_labels", (((a.run_key, it.solution.key), a) for it in items
                                              for a in it.auto_labels))
        if not wanted:
            return
        runs = {}
        for key in {k for k, _ in wanted}:
            first = next(a for (k, _), a in wanted.items() if k == key)
            runs[key], _ = AutoLabelRun.objects.get_or_create(key=key, defaults=dict(project_id=self.project,
                source=LabelSource.IMPORTED, labeller_version=first.labeller_version,
                status=RunStatus.SUCCEEDED, params={"imported": True}, finished_at=timezone.now()))
        have = {(k, s): i for i, k, s in StepLabels.objects.filter(
            run__in=runs.values(), solution_id__in={solutions[s] for _, s in wanted}).values_list(
            "id", "run__key", "solution_id")}
        self._count_found("step_labels", StepLabels, list(have.values()))
        rows = [dict(run_id=runs[run_key].id, solution_id=solutions[sol_key], n_steps=len(a.hard), hard=a.hard,
                     soft=a.soft, first_error=a.first_error, detail=a.detail)
                for (run_key, sol_key), a in wanted.items() if (run_key, solutions[sol_key]) not in have]
        insert_rows(StepLabels, rows, ids=False)
        self.stats.created["step_labels"] += len(rows)
        for run in runs.values():
            AutoLabelRun.objects.filter(pk=run.pk).update(solutions=StepLabels.objects.filter(run=run).count())

    def _queue(self, items, solutions: dict[str, int]) -> None:
        """Queue the batch's solutions in file order (earlier first), except screening and QC ones (served
        apart) and those queued already (their entries keep their priority and overlap)."""
        order = {it.solution.key: it.solution for it in items if it.solution is not None}
        older = [solutions[k] for k in order if k not in self._new_solutions]
        unqueued = set(Solution.objects.filter(among("id", older), queue_entry__isnull=True, is_screening=False,
                                               is_quality_control=False).values_list("id", flat=True)
                       ) if older else set()
        fresh, again = [], []
        for key, s in order.items():
            if key in self._new_solutions:
                if not (s.is_screening or s.is_quality_control):
                    fresh.append((solutions[key], None))
            elif solutions[key] in unqueued:
                again.append((solutions[key], None))
        # file order holds: this batch's new solutions have higher ids than any solution before them
        self.stats.enqueued += (enqueue_ids(again, overlap=self.overlap)
                                + enqueue_ids(fresh, overlap=self.overlap, new=True))

    @staticmethod
    def _question_overrides(p, incoming, stored: Problem) -> None:
        # The record's reference answer/solution may differ from the stored problem's
        # (same statement, other source): keep the record's own value for export.
        keys = p.extra.get("question_keys") or (prm800k.PHASE2_QUESTION if p.solution_key else prm800k.PHASE1_QUESTION)
        for name in ("ground_truth_answer", "ground_truth_solution"):
            if name in keys and getattr(incoming, name) != getattr(stored, name):
                p.extra.setdefault("question", {})[name] = getattr(incoming, name)

    def _annotators(self, uuids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
        found = dict(Annotator.objects.filter(uuid__in=list(uuids)).values_list("uuid", "id"))
        new = [Annotator(uuid=u) for u in uuids if u not in found]
        for a in Annotator.objects.bulk_create(new):
            found[a.uuid] = a.id
        self.stats.created["annotators"] += len(new)
        return found
