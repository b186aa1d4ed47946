"""Fixing a solution's segmentation while labelling it: merge a step with the next one, or split one at a point.

Labelled steps are never changed: the fix makes a new segmentation version of the solution (a new solution of
the same problem and project, `extra.segmented_from` naming its source and `extra.segmentation_edit` the edit),
which takes the source's place in the queue (the source keeps the passes it has and takes no new ones). The
annotator's lease moves to the new version with the ratings of the steps before the edit; the old lease is closed
(`draft.moved_to`: a submit or draft there is refused). Every version keeps the family's first solution as its
`origin`: nobody is served a version of content they were served before (claims._unserved, statements.claim).
A second annotator making the same edit reaches the same version (the same steps: the same content hash).
A `bad segmentation` report only flags the solution for admins.
"""
import uuid

from django.db import transaction
from django.utils import timezone

from labeling.formats import limits
from labeling.models import Lease, LeaseStatus, QueueEntry, SegmentationReport, Solution
from labeling.queue.submission import MOVED_TO, SubmissionError, _lease_for
from labeling.storage import hashing

ACTIONS = ("merge", "split")


def _edited(steps: list[str], action: str, step, at) -> list[str]:
    if action not in ACTIONS:
        raise SubmissionError("action", f"must be one of {', '.join(ACTIONS)}")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < len(steps):
        raise SubmissionError("step", f"must be a step index 0..{len(steps) - 1}")
    out = list(steps)
    if action == "merge":
        if step == len(steps) - 1:
            raise SubmissionError("step", "the last step has no next step to merge with")
        out[step:step + 2] = [f"{steps[step]}\n{steps[step + 1]}"]
        return out
    text = steps[step]
    if isinstance(at, bool) or not isinstance(at, int) or not 0 < at < len(text):
        raise SubmissionError("at", f"must be a position inside step {step + 1} (1..{len(text) - 1})")
    head, tail = text[:at].rstrip(), text[at:].lstrip()
    if not head or not tail:
        raise SubmissionError("at", "both parts of a split must hold text")
    out[step:step + 1] = [head, tail]
    return out


def resegment(annotator, lease_id, action: str, step, at=None) -> Lease:
    """Merge step `step` with the next (`merge`) or split it at character `at` (`split`); returns the annotator's
    lease on the new version (the ratings before the edit kept)."""
    with transaction.atomic():
        lease = _lease_for(annotator, lease_id, lock=True)
        if lease.status != LeaseStatus.OPEN or lease.expires_at <= timezone.now():
            raise SubmissionError("lease", "this task is no longer yours to edit (submitted or expired)")
        source = lease.solution
        steps = _edited(list(source.steps), action, step, at)
        if len(steps) > limits.max_steps():
            raise SubmissionError("step", f"the split makes {len(steps)} steps, more than the limit of "
                                          f"{limits.max_steps()} (MAX_SOLUTION_STEPS)")
        moved = uuid.uuid4()  # the new lease's id, named by the old one as it closes
        key = hashing.solution_hash(source.problem.content_hash, steps, source.final_answer)
        extra = {k: v for k, v in source.extra.items() if k != "alternatives"}  # they named the old steps
        root = source.origin_id or source.pk
        version, created = Solution.objects.get_or_create(project_id=source.project_id, content_hash=key, defaults=dict(
            problem_id=source.problem_id, steps=steps, final_answer=source.final_answer,
            answer_is_correct=source.answer_is_correct, answer_graded_at=source.answer_graded_at,
            generator=source.generator, source_id=source.source_id, verifier_score=source.verifier_score,
            generation=source.generation, is_quality_control=source.is_quality_control,
            is_screening=source.is_screening, gold_first_error=None, origin_id=root,
            extra={**extra, "segmented_from": source.pk,
                   "segmentation_edit": {"action": action, "step": step, **({"at": at} if action == "split" else {}),
                                         "by": str(annotator.uuid)}}))
        if not created and Lease.objects.filter(annotator=annotator, solution=version).exists():
            raise SubmissionError("step", "this edit gives a solution you were served before (the same steps): label "
                                          "this one as it is, or flag its segmentation")
        if not created and version.origin_id is None and version.pk != root and \
                not Solution.objects.filter(origin_id=version.pk).exists():
            # the edit reached a solution that was there already (imported with these very steps): the same content,
            # so it joins the family, and whoever labelled either is served neither again
            Solution.objects.filter(pk=version.pk).update(origin_id=root)
        entry = QueueEntry.objects.select_for_update().filter(solution=source).first()
        # The lease leaves the source with its slot, and so do the source's unclaimed slots: the source keeps what
        # is done and what others hold (it takes no new claims; with neither it leaves the queue), the new
        # version gets the moved slot and the unclaimed ones.
        Lease.objects.filter(pk=lease.pk).update(status=LeaseStatus.EXPIRED,
                                                 draft={**lease.draft, MOVED_TO: str(moved)})
        if entry is not None:
            unclaimed = max(0, entry.overlap - entry.completed - entry.in_flight)
            entry.in_flight = max(0, entry.in_flight - 1)
            entry.overlap = entry.completed + entry.in_flight
            if entry.overlap == 0:
                entry.delete()
            else:
                entry.refresh_open()
                entry.save(update_fields=["in_flight", "overlap", "is_open"])
            _take_slots(version, entry, 1 + unclaimed)
        kept = (lease.draft.get("ratings") or [])[:step]
        return Lease.objects.create(id=moved, annotator=annotator, solution=version, reason=lease.reason,
                                    expires_at=lease.expires_at,
                                    draft={"ratings": kept, "active_ms": lease.draft.get("active_ms", 0)})


def _take_slots(version: Solution, source_entry: QueueEntry, slots: int) -> None:
    """The new version's queue entry gains `slots` wanted passes, one of them in flight (the moved lease)."""
    fresh = QueueEntry.objects.select_for_update().filter(solution=version).first()
    if fresh is None:
        fresh = QueueEntry(solution=version, project_id=version.project_id, overlap=0, completed=0, in_flight=0,
                           priority=source_entry.priority, generation=source_entry.generation)
    fresh.overlap += slots
    fresh.in_flight += 1
    fresh.refresh_open()
    fresh.save()


def report_bad_segmentation(annotator, lease_id, note: str = "") -> SegmentationReport:
    """Flag the task's solution as badly cut into steps, for admins (one report per annotator and solution)."""
    note = (note or "").strip()
    if len(note) > 2000 or "\x00" in note:
        raise SubmissionError("note", "must be text of at most 2000 characters")
    lease = _lease_for(annotator, lease_id)
    report, created = SegmentationReport.objects.get_or_create(solution=lease.solution, annotator=annotator,
                                                              defaults={"note": note})
    if not created and note and report.note != note:
        report.note = note
        report.save(update_fields=["note"])
    return report
