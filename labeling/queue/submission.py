"""Drafts and submits of a labelling pass: what the browser and the API both call. What a pass may
hold (ratings, stopping at the first -1, how it ends): docs/method.md, "Step labels".

A submit carries a client-generated id: a double click, a retry or a second tab lands
exactly one LabeledPass. The pass, the lease and the queue counters change in one
transaction, so a crash leaves either all of it or none.
"""
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Case, ExpressionWrapper, F, IntegerField, Q, Subquery, Value, When
from django.utils import timezone

from labeling.formats import limits
from labeling.formats.prm800k import PHASE1_QUESTION, format_timestamp, pass_first_error
from labeling.models import (
    Annotator,
    FinishReason,
    LabeledPass,
    Lease,
    LeaseStatus,
    Protocol,
    QueueEntry,
    ServeReason,
)
from labeling.people import label_sources
from labeling.people.leases import labelling_projects
from labeling.queue import statements
from labeling.storage import hashing


class SubmissionError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


# A lease whose task moved to a new segmentation version names the new lease in its draft (queue.resegment): it
# takes no draft or submit (a pass there would land on the old version, beyond its overlap).
MOVED_TO = "moved_to"


class LeaseMoved(SubmissionError):
    """The lease's task moved to another lease (a new segmentation version): work there."""

    def __init__(self, moved_to: str):
        super().__init__("lease", f"this task moved to a new segmentation version (lease {moved_to}): submit there")
        self.moved_to = moved_to


def _refuse_moved(lease: Lease) -> None:
    if moved := (lease.draft or {}).get(MOVED_TO):
        raise LeaseMoved(moved)


class SubmissionConflict(SubmissionError):
    """What was sent contradicts a pass that already landed (`receipt`: its client id)."""

    def __init__(self, field: str, message: str, receipt):
        super().__init__(field, message)
        self.receipt = receipt


@dataclass
class StepRating:
    rating: int | None
    flagged: bool = False
    alternatives: list | None = None  # ratings of the solution's alternative steps at a -1 step
    error_type: str = ""  # on a -1 step: one of the project's error taxonomy
    rationale: str = ""  # on a -1 step: why, in the labeller's words
    chosen: int | None = None  # phase 1: the candidate the labeller continues with
    human: str = ""  # phase 1: the labeller's own step, when no candidate is good


MAX_RATIONALE = 2000


def _notes(ratings: list[StepRating]) -> dict:
    """LabeledPass.step_notes: each -1 step's error type and rationale, by step index."""
    return {str(k): {"error_type": r.error_type, "rationale": r.rationale} for k, r in enumerate(ratings)
            if r.error_type or r.rationale}


def _lease_for(annotator: Annotator, lease_id, *, lock: bool = False, client_id=None) -> Lease:
    """The annotator's lease with its solution and problem; `client_id`: with `landed_id`, the pass that
    client id landed (None: none), in the same query."""
    if connection.vendor == "postgresql":
        lease = statements.lease_for(lease_id, annotator.pk, lock=lock, client_id=client_id)
        if lease is None:
            raise SubmissionError("lease", "no such task for you")
        return lease
    # of=self: lock the lease only, not the joined solution (a claim's FK check on it would deadlock)
    qs = Lease.objects.select_for_update(of=("self",)) if lock else Lease.objects
    if client_id is not None:
        qs = qs.annotate(landed_id=Subquery(LabeledPass.objects.filter(client_id=client_id).values("id")[:1]))
    lease = qs.filter(id=lease_id, annotator=annotator, solution__project_id__in=labelling_projects(annotator.user_id)
                      ).select_related("solution__problem", "solution__project").first()
    if lease is None:  # someone else's lease (or one its holder may no longer work) looks exactly like a missing one
        raise SubmissionError("lease", "no such task for you")
    return lease


def save_draft(annotator: Annotator, lease_id, ratings: list[dict], active_ms: int, outcome=None) -> Lease:
    """Store the ratings so far (a reload resumes exactly here), and an agent trace's outcome rating; extends
    nothing else."""
    with transaction.atomic():
        lease = _lease_for(annotator, lease_id, lock=True)
        if lease.status == LeaseStatus.SUBMITTED:
            raise SubmissionError("lease", "this task is already submitted")
        _refuse_moved(lease)
        _check_count(ratings)
        # a draft may hold a step half done (phase 1: a candidate not rated yet); a submit may not
        checked = [_check_rating(r, f"ratings[{i}]", allow_null=True) for i, r in enumerate(ratings)]
        _check_partial(lease.solution, checked)
        lease.draft = {"ratings": [_as_json(r) for r in checked],
                       "active_ms": max(int(active_ms), int(lease.draft.get("active_ms", 0))),
                       **({"outcome": _check_outcome(lease.solution, outcome, None)} if outcome is not None else {})}
        lease.save(update_fields=["draft"])
        return lease


def _check_count(ratings: list) -> None:
    if not isinstance(ratings, list) or len(ratings) > limits.max_steps():
        raise SubmissionError("ratings", f"must be a list of at most {limits.max_steps()} ratings (MAX_SOLUTION_STEPS)")


def _check_rating(r: dict, field: str, *, allow_null: bool = False, nested: bool = True) -> StepRating:
    if not isinstance(r, dict):
        raise SubmissionError(field, "must be an object {rating, flagged}")
    rating, flagged = r.get("rating"), r.get("flagged", False)
    # An int, not 1.0 or True: the pass must export as a record that the PRM800K importer takes back.
    if (type(rating) is not int or rating not in (-1, 0, 1)) and not (allow_null and rating is None):
        raise SubmissionError(f"{field}.rating", "must be -1, 0 or 1")
    if not isinstance(flagged, bool):
        raise SubmissionError(f"{field}.flagged", "must be true or false")
    alternatives = r.get("alternatives")
    if alternatives is not None:
        if not nested or not isinstance(alternatives, list):
            raise SubmissionError(f"{field}.alternatives", "must be a list of {rating, flagged} objects")
        alternatives = [_check_rating(a, f"{field}.alternatives[{j}]", allow_null=True, nested=False)
                        for j, a in enumerate(alternatives)]
    notes = {}
    for key, limit in (("error_type", 60), ("rationale", MAX_RATIONALE)):
        value = r.get(key, "") if nested else ""
        if value is None:
            value = ""
        if not isinstance(value, str) or len(value) > limit or "\x00" in value:
            raise SubmissionError(f"{field}.{key}", f"must be text of at most {limit} characters")
        notes[key] = value.strip()
    if (notes["error_type"] or notes["rationale"]) and rating != -1:
        raise SubmissionError(f"{field}.error_type", "only a step rated -1 has an error type or a rationale")
    chosen, human = (r.get("chosen"), r.get("human_completion") or "") if nested else (None, "")
    if chosen is not None and (isinstance(chosen, bool) or not isinstance(chosen, int) or chosen < 0):
        raise SubmissionError(f"{field}.chosen", "must be the index of a candidate")
    if not isinstance(human, str) or len(human) > 10000 or "\x00" in human:
        raise SubmissionError(f"{field}.human_completion", "must be text of at most 10000 characters")
    return StepRating(rating, flagged, alternatives, **notes, chosen=chosen, human=human.strip())


def _as_json(r: StepRating) -> dict:
    out = {"rating": r.rating, "flagged": r.flagged}
    if r.alternatives is not None:
        out["alternatives"] = [{"rating": a.rating, "flagged": a.flagged} for a in r.alternatives]
    if r.error_type or r.rationale:
        out.update(error_type=r.error_type, rationale=r.rationale)
    if r.chosen is not None or r.human:
        out.update(chosen=r.chosen, human_completion=r.human)
    return out


def _check_protocol(project, ratings: list[StepRating]) -> None:
    """The project's own rules: whether neutral (0) is a rating there, and its error taxonomy."""
    taxonomy = project.error_taxonomy if project is not None else []
    for k, r in enumerate(ratings):
        if r.error_type and r.error_type not in taxonomy:
            listed = ", ".join(taxonomy) if taxonomy else "none: this project has no error taxonomy"
            raise SubmissionError(f"ratings[{k}].error_type", f"must be one of the project's error types ({listed})")
    if project is not None and not project.allow_neutral:
        for k, r in enumerate(ratings):
            if r.rating == 0 or any(a.rating == 0 for a in r.alternatives or []):
                raise SubmissionError(f"ratings[{k}].rating", f"neutral (0) is not a rating in project {project.slug}: "
                                                              "rate the step -1 or +1")


def _suggestions(solution, ratings: list[StepRating], outcome=None) -> dict:
    """What the page suggested for this solution (the project's suggestion source; read again here, not taken
    from the client) and, per rated step, whether the rating kept it (on a trace, whether the outcome kept the
    suggested one, `outcome_kept`)."""
    project = solution.project
    source = getattr(project, "suggestion_source", "") if project is not None else ""
    found = label_sources.suggestion_for(solution.pk, source) if source else None
    if found is None:
        return {}
    suggested = list(found["labels"])[:len(ratings)]
    return {**found, "labels": suggested,
            "kept": [None if k >= len(suggested) or suggested[k] is None else r.rating == suggested[k]
                     for k, r in enumerate(ratings)],
            **({"outcome_kept": outcome == found["final_label"]} if "final_label" in found and outcome is not None
               else {})}


def _every_step(project) -> bool:
    return project is not None and project.protocol == Protocol.EVERY_STEP


def _phase1(project) -> bool:
    return project is not None and project.protocol == Protocol.ALTERNATIVES


def _phase1_step(k: int, text: str, r: StepRating, alternatives: dict | None, *, partial: bool) -> dict:
    """One phase-1 step as PRM800K stores it: every candidate rated, the one chosen to continue, or the
    labeller's own step. `partial` (a draft): the step may still be unfinished."""
    texts = [text, *(alternatives or {}).get(str(k), [])]
    rated = [r, *(r.alternatives or [])]
    where = f"ratings[{k}]"
    if len(rated) > len(texts):
        raise SubmissionError(f"{where}.alternatives", f"step {k + 1} has {len(texts) - 1} other candidates")
    if not partial:
        if len(rated) != len(texts) or any(c.rating is None for c in rated):
            raise SubmissionError(f"{where}.alternatives", f"rate every candidate of step {k + 1} ({len(texts)})")
        if r.human and r.chosen is not None:
            raise SubmissionError(f"{where}.chosen", "choose a candidate or write your own step, not both")
        if not r.human and r.chosen is None:
            raise SubmissionError(f"{where}.chosen", f"choose the candidate to continue with at step {k + 1}, or "
                                                     "write your own")
    if r.chosen is not None and (r.chosen >= len(texts) or (not partial and rated[r.chosen].rating == -1)):
        raise SubmissionError(f"{where}.chosen", "must be a candidate of this step that is not rated -1")
    human = {"text": r.human, "rating": None, "source": "human", "flagged": False} if r.human else None
    return {"completions": [{"text": t, "rating": c.rating, "flagged": c.flagged} for t, c in zip(texts, rated,
                                                                                                strict=False)],
            "human_completion": human, "chosen_completion": None if human else r.chosen}


def _phase1_steps(solution, ratings: list[StepRating], finish: str) -> list[dict]:
    n = len(solution.steps)
    if len(ratings) > n:
        raise SubmissionError("ratings", f"the solution has {n} steps, got {len(ratings)} ratings")
    if finish == FinishReason.FOUND_ERROR:
        raise SubmissionError("finish_reason", "phase 1 goes on after a bad candidate: finish with solution")
    if finish == FinishReason.SOLUTION and len(ratings) != n:
        raise SubmissionError("ratings", f"a solution pass labels every step ({n})")
    stopped = finish in (FinishReason.GIVE_UP, FinishReason.BAD_PROBLEM)  # the step given up on may be unfinished
    return [_phase1_step(k, solution.steps[k], r, solution.extra.get("alternatives"),
                         partial=stopped and k == len(ratings) - 1)
            for k, r in enumerate(ratings)]


def _build_steps(solution, ratings: list[StepRating], finish: str) -> list[dict]:
    """The pass's `label.steps` by the protocol of the solution's project."""
    if _phase1(solution.project):
        return _phase1_steps(solution, ratings, finish)
    return _label_steps(solution.steps, ratings, finish, solution.extra.get("alternatives"),
                        every_step=_every_step(solution.project))


def _check_partial(solution, ratings: list[StepRating]) -> None:
    """What any pass so far must be (a draft too): no more ratings than steps, nothing after the
    first -1 (unless the project rates every step), alternatives only where the solution offers them."""
    n = len(solution.steps)
    if len(ratings) > n:
        raise SubmissionError("ratings", f"the solution has {n} steps, got {len(ratings)} ratings")
    project = solution.project
    _check_protocol(project, ratings)
    if _phase1(project):
        for k, r in enumerate(ratings):
            _phase1_step(k, solution.steps[k], r, solution.extra.get("alternatives"), partial=True)
        return
    negatives = [i for i, r in enumerate(ratings) if r.rating == -1]
    if negatives and negatives[0] != len(ratings) - 1 and not _every_step(project):
        raise SubmissionError(f"ratings[{negatives[0] + 1}]", "no step is rated after the first -1")
    for k, r in enumerate(ratings):
        _alternative_texts(k, r, solution.extra.get("alternatives"))


def _alternative_texts(k: int, r: StepRating, alternatives: dict | None) -> list[str]:
    texts = (alternatives or {}).get(str(k), [])
    if r.alternatives and (r.rating != -1 or len(r.alternatives) > len(texts)):
        raise SubmissionError(f"ratings[{k}].alternatives",
                              f"step {k + 1} has {len(texts)} alternatives to rate after a -1")
    return texts


def _label_steps(solution_steps: list[str], ratings: list[StepRating], finish: str,
                 alternatives: dict | None = None, every_step: bool = False) -> list[dict]:
    if len(ratings) > len(solution_steps):
        raise SubmissionError("ratings", f"the solution has {len(solution_steps)} steps, got {len(ratings)} ratings")
    negatives = [i for i, r in enumerate(ratings) if r.rating == -1]
    if every_step:  # every step is rated, a -1 or not; found_error says one was wrong
        if finish == FinishReason.FOUND_ERROR and (not negatives or len(ratings) != len(solution_steps)):
            raise SubmissionError("ratings", "in this project found_error rates every step, at least one -1")
        if finish == FinishReason.SOLUTION and (negatives or len(ratings) != len(solution_steps)):
            raise SubmissionError("ratings", "a solution pass rates every step, none -1")
    else:
        if finish == FinishReason.FOUND_ERROR and (not negatives or negatives[0] != len(ratings) - 1):
            raise SubmissionError("ratings", "found_error ends at the first step rated -1")
        if finish == FinishReason.SOLUTION and (negatives or len(ratings) != len(solution_steps)):
            raise SubmissionError("ratings", "a solution pass rates every step, none -1")
        if finish in (FinishReason.GIVE_UP, FinishReason.BAD_PROBLEM) and negatives:
            raise SubmissionError("ratings", "a -1 ends the pass as found_error")
    steps = []
    for k, (text, r) in enumerate(zip(solution_steps, ratings, strict=False)):
        completions = [{"text": text, "rating": r.rating, "flagged": r.flagged}]
        if r.alternatives:
            # After the first error the annotator rates the solution's other candidates for that step.
            texts = _alternative_texts(k, r, alternatives)
            completions += [{"text": t, "rating": a.rating, "flagged": a.flagged}
                            for t, a in zip(texts, r.alternatives, strict=False)]
        steps.append({"completions": completions, "human_completion": None,
                      "chosen_completion": None if r.rating == -1 else 0})
    return steps


def submit_pass(annotator: Annotator, lease_id, client_id, ratings: list[dict], finish_reason: str,
                total_time: int, reason_text: str = "") -> LabeledPass:
    return submit(annotator, lease_id, client_id, ratings, finish_reason, total_time, reason_text)[0]


def _check_outcome(solution, outcome, finish_reason: str | None):
    """An agent trace's outcome rating (the pass's `extra["final_label"]`): -1, 0 or 1, required to submit a
    trace's pass that reached its end or found an error; other solutions have none."""
    if outcome is not None and (type(outcome) is not int or outcome not in (-1, 0, 1)):
        raise SubmissionError("outcome", "must be -1, 0, 1 or null")
    is_trace = "step_messages" in (solution.extra or {})
    if outcome is not None and not is_trace:
        raise SubmissionError("outcome", "only an agent trace has an outcome to rate")
    if is_trace and outcome is None and finish_reason in (FinishReason.SOLUTION, FinishReason.FOUND_ERROR):
        raise SubmissionError("outcome", "rate the outcome of the whole trace (-1, 0 or 1)")
    return outcome


def submit(annotator: Annotator, lease_id, client_id, ratings: list[dict], finish_reason: str,
           total_time: int, reason_text: str = "", outcome=None) -> tuple[LabeledPass, bool]:
    """The pass that landed for this submit, and whether it had landed before (a replay).

    A replay (same client id, same task, same content) answers the original pass. The same
    client id on another task or with other content, or another submit of a task already
    submitted with other content, is a SubmissionConflict naming the pass that landed: never a
    success for something that was not stored.
    """
    try:
        client_id = uuid.UUID(str(client_id))
    except ValueError:
        raise SubmissionError("client_id", "must be a UUID") from None
    if finish_reason not in FinishReason.values:
        raise SubmissionError("finish_reason", f"must be one of {', '.join(FinishReason.values)}")
    reason_text = reason_text.strip()
    if finish_reason in (FinishReason.GIVE_UP, FinishReason.BAD_PROBLEM) and not reason_text:
        raise SubmissionError("reason_text", "say why you give up or what is wrong with the problem")
    if isinstance(total_time, bool) or not isinstance(total_time, int) or total_time < 0:
        raise SubmissionError("total_time", "must be a non-negative number of milliseconds")
    _check_count(ratings)
    checked = [_check_rating(r, f"ratings[{i}]") for i, r in enumerate(ratings)]
    wanted = (checked, finish_reason, total_time, reason_text, outcome)
    try:
        with transaction.atomic():
            try:  # the lease, locked, and whether this client id landed before: one query
                lease = _lease_for(annotator, lease_id, lock=True, client_id=client_id)
            except SubmissionError:
                done = _landed(client_id)  # this annotator's client id sent for a task not theirs: a conflict
                if done is not None and done.annotator_id == annotator.id:
                    return _replayed(done, annotator, lease_id, wanted), True
                raise
            if lease.landed_id is not None:  # a replay (returned) or another submit's id (refused)
                return _replayed(_landed(client_id), annotator, lease_id, wanted), True
            if lease.status == LeaseStatus.SUBMITTED:
                # The same task sent again under a new client id (a second tab).
                return _replayed(lease.labeled_pass, annotator, lease_id, wanted), True
            _refuse_moved(lease)
            solution = lease.solution
            _check_protocol(solution.project, checked)
            _check_outcome(solution, outcome, finish_reason)
            steps = _build_steps(solution, checked, finish_reason)
            phase1 = _phase1(solution.project)
            now = timezone.now()
            labeled = LabeledPass.objects.create(
                project_id=solution.project_id, annotator=annotator, problem=solution.problem, solution=solution,
                submitted_at=now,
                generation=solution.generation, is_quality_control=lease.reason == ServeReason.QC,
                is_screening=lease.reason == ServeReason.SCREENING, verifier_score=solution.verifier_score,
                steps=steps, total_time=total_time, finish_reason=finish_reason, reason_text=reason_text,
                first_error=pass_first_error(steps, finish_reason), step_notes=_notes(checked),
                suggestions=_suggestions(solution, checked, outcome),
                # a phase-1 pass is a phase-1 record (no pre-generated solution): keyed as its import will key it
                natural_key=hashing.pass_identity(str(annotator.uuid), format_timestamp(now),
                                                  solution.problem.content_hash,
                                                  None if phase1 else solution.content_hash),
                extra={"question_keys": list(PHASE1_QUESTION)} if phase1 else (
                    {"final_label": outcome} if "step_messages" in solution.extra else {}),
                client_id=client_id)
            _count(lease, labeled)
            lease.status, lease.labeled_pass = LeaseStatus.SUBMITTED, labeled
            return labeled, False
    except IntegrityError:
        # Two submits raced on the same client id or lease: the other one landed.
        done = _landed(client_id) or Lease.objects.get(id=lease_id).labeled_pass
        if done is None:
            raise
        return _replayed(done, annotator, lease_id, wanted), True


def _landed(client_id) -> LabeledPass | None:
    return LabeledPass.objects.filter(client_id=client_id).select_related("lease", "solution").first()


def _replayed(done: LabeledPass, annotator: Annotator, lease_id, wanted) -> LabeledPass:
    """`done` if this submit is a replay of it, else the reason it is not."""
    if done.annotator_id != annotator.id:
        # Another annotator's client id: say no, and never hand out their pass or its receipt.
        raise SubmissionError("client_id", "this client id belongs to another submit; send a new one")
    receipt = done.client_id
    lease = getattr(done, "lease", None)
    if lease is None or str(lease.id) != str(lease_id):
        raise SubmissionConflict("client_id", f"this client id was already used to submit another task (receipt "
                                 f"{receipt}); send a new client id for this one", receipt)
    checked, finish_reason, total_time, reason_text, outcome = wanted
    try:
        steps = _build_steps(done.solution, checked, finish_reason)
    except SubmissionError:
        steps = None
    differs = [name for name, same in (
        ("ratings", steps == done.steps and _notes(checked) == done.step_notes),
        ("finish_reason", finish_reason == done.finish_reason),
        ("total_time", total_time == done.total_time), ("reason_text", reason_text == done.reason_text),
        ("outcome", outcome == (done.extra or {}).get("final_label"))) if not same]
    if differs:
        raise SubmissionConflict(differs[0], f"this task was already submitted (receipt {receipt}) with other "
                                 f"{', '.join(differs)}; the pass that landed is kept unchanged", receipt)
    return done


def _count(lease: Lease, labeled: LabeledPass) -> None:
    """Move the lease's slot from in flight to completed (an expired lease already gave its slot back) and
    record the pass on the lease: one statement on PostgreSQL, two elsewhere; no read first."""
    was_open = lease.status == LeaseStatus.OPEN
    if connection.vendor == "postgresql":
        statements.count_submitted(lease.pk, lease.solution_id, labeled.pk, was_open)
        return
    n = IntegerField()
    in_flight = Case(When(in_flight__gt=0, then=F("in_flight") - Value(1, n)), default=F("in_flight"),
                     output_field=n) if was_open else F("in_flight")
    QueueEntry.objects.filter(solution_id=lease.solution_id).update(
        in_flight=in_flight, completed=F("completed") + Value(1, n),
        is_open=ExpressionWrapper(Q(overlap__gt=ExpressionWrapper(F("completed") + Value(1, n) + in_flight, n)),
                                  output_field=BooleanField()))
    Lease.objects.filter(pk=lease.pk).update(status=LeaseStatus.SUBMITTED, labeled_pass=labeled)
