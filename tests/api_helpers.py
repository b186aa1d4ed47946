"""Shared helpers for API tests: users with a role, token clients, queued solutions."""
import uuid

from django.test import Client
from django.utils import timezone

from api.tokens import create_token
from labeling.models import Problem, Solution
from labeling.people.accounts import set_user
from labeling.queue import claims as queue
from labeling.storage.hashing import problem_hash, solution_hash


def token_client(username: str, role: str, *, screened: bool = True) -> tuple[Client, object]:
    """A test client that sends `Authorization: Bearer <key>` for a fresh user with `role`."""
    annotator = set_user(username, "pw-for-tests-only", role)
    if screened:
        annotator.screening_passed_at = timezone.now()
        annotator.save(update_fields=["screening_passed_at"])
    _, key = create_token(annotator.user, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}"), annotator


def queued_solutions(n: int, steps=("step one", "step two", "# Answer\n\n4"), *, project=None,
                     priority: float | None = None, **flags) -> list[Solution]:
    """`n` solutions of one new problem (in `project`, else the default one), queued unless flagged QC or
    screening."""
    tag = str(uuid.uuid4())
    where = {} if project is None else {"project": project}
    p = Problem.objects.create(text=f"What is 2+2? {tag}", content_hash=problem_hash(tag), ground_truth_answer="4",
                               **where)
    out = [Solution.objects.create(problem=p, steps=list(steps), final_answer="4",
                                   content_hash=solution_hash(p.content_hash, list(steps), f"{tag}-{i}"), **where,
                                   **flags)
           for i in range(n)]
    queue.enqueue([s for s in out if not flags], overlap=1, priority=priority)
    return out


def default_project(**fields) -> None:
    """Set the default project's settings (QC interval, lease length, screening threshold...): the queue reads
    them there, not from the LABEL_* settings (those only seed the default project)."""
    from labeling.models import DEFAULT_PROJECT_ID, Project

    Project.objects.filter(pk=DEFAULT_PROJECT_ID).update(**fields)
