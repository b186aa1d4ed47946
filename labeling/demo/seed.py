"""Demo data made by Stepwise itself: a login per role and the generated problems.

The problems and their solutions come from `labeling.demo.problems` (a seeded generator); this
module writes them to the database and manages the demo accounts.
"""
import secrets
import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from labeling.demo.problems import GENERATOR, DemoProblem, generate
from labeling.formats.prm800k import format_timestamp
from labeling.models import (
    DEFAULT_PROJECT_ID,
    Annotator,
    FinishReason,
    LabeledPass,
    Problem,
    Project,
    ProjectMember,
    Protocol,
    Role,
    Solution,
)
from labeling.people.accounts import set_user
from labeling.queue import claims as queue
from labeling.storage.hashing import pass_identity, problem_hash, solution_hash

DEMO_EMAIL_DOMAIN = "demo.stepwise.invalid"  # marks accounts this command owns and may reset
QUERY_CHUNK = 500  # stay far below SQLite's bound-parameter limit


# --- Writing to the database --------------------------------------------------------

@dataclass
class SeedStats:
    created: dict = field(default_factory=lambda: {"problems": 0, "solutions": 0})
    existing: dict = field(default_factory=lambda: {"problems": 0, "solutions": 0})
    wrong: int = 0

    def summary(self) -> str:
        return "; ".join(f"{kind}: {self.created[kind]} created, {self.existing[kind]} already present"
                         for kind in self.created)


def _existing(model, keys: list[str], project: int) -> dict:
    found = {}
    for i in range(0, len(keys), QUERY_CHUNK):
        found.update((row.content_hash, row) for row in model.objects.filter(
            content_hash__in=keys[i:i + QUERY_CHUNK], project_id=project))
    return found


@transaction.atomic
def seed_problems(n_problems: int = 60, n_solutions: int = 4, seed: int = 0,
                  project: int = DEFAULT_PROJECT_ID) -> SeedStats:
    """Store the generated problems and solutions in `project`; rows already there (same content hash) are kept."""
    stats = SeedStats()
    keyed = {problem_hash(p.text): p for p in generate(n_problems, n_solutions, seed)}
    rows = _save_problems(keyed, stats, project)
    _save_solutions(keyed, rows, stats, project)
    _seed_queue(project)
    return stats


SCREENING_SOLUTIONS = 4  # the first demo solutions form the screening set
QC_SOLUTIONS = 3  # the next ones are quality-control questions


def _seed_queue(project: int) -> None:
    """Screening and QC sets with gold labels (the demo's known first errors). Of the other
    problems, a third comes labelled already (generation 0, by a demo labeller, so that an
    active-learning round has something to train on), a third is queued for the demo
    annotators, and a third stays unqueued: the pool the rounds select from."""
    demo = list(Solution.objects.filter(generator=GENERATOR, project_id=project).select_related("problem")
                .order_by("problem__source_id", "id"))
    regular = []
    for i, s in enumerate(demo):
        first_error = s.extra.get("demo_first_error")
        s.is_screening = i < SCREENING_SOLUTIONS
        s.is_quality_control = SCREENING_SOLUTIONS <= i < SCREENING_SOLUTIONS + QC_SOLUTIONS
        s.gold_first_error = -1 if first_error is None else first_error
        if not (s.is_screening or s.is_quality_control):
            regular.append(s)
    problems = sorted({s.problem.source_id for s in regular})
    third = {pid: 3 * i // max(1, len(problems)) for i, pid in enumerate(problems)}
    labelled = [s for s in regular if third[s.problem.source_id] == 0]
    for s in labelled:
        s.generation = 0
    Solution.objects.bulk_update(demo, ["is_screening", "is_quality_control", "gold_first_error", "generation"],
                                 batch_size=500)
    _label(labelled)
    queue.enqueue([s for s in regular if third[s.problem.source_id] == 1])


DEMO_LABELLER = uuid.UUID("00000000-0000-4000-8000-00000000de70")


def _label(solutions: list[Solution]) -> None:
    """Passes as a careful labeller would give them: +1 up to the known first error, -1 there."""
    labeller, _ = Annotator.objects.get_or_create(uuid=DEMO_LABELLER, defaults={"role": Role.ANNOTATOR})
    now = timezone.now()
    stamp = format_timestamp(now)
    done = set(labeller.passes.values_list("solution_id", flat=True))  # seeding again labels nothing twice
    passes = []
    for s in (s for s in solutions if s.pk not in done):
        first = s.extra.get("demo_first_error")
        n = len(s.steps) if first is None else first + 1
        ratings = [{"rating": -1 if k == first else 1, "flagged": False} for k in range(n)]
        steps = [{"completions": [{"text": s.steps[k], **r}], "human_completion": None,
                  "chosen_completion": None if r["rating"] == -1 else 0} for k, r in enumerate(ratings)]
        passes.append(LabeledPass(
            project_id=s.project_id, annotator=labeller, problem=s.problem, solution=s, submitted_at=now,
            generation=0, steps=steps,
            total_time=20_000 * n, finish_reason=FinishReason.SOLUTION if first is None else FinishReason.FOUND_ERROR,
            first_error=-1 if first is None else first,
            natural_key=pass_identity(str(DEMO_LABELLER), stamp, s.problem.content_hash, s.content_hash),
            client_id=uuid.uuid4()))
    LabeledPass.objects.bulk_create(passes, batch_size=QUERY_CHUNK)


def _save_problems(keyed: dict[str, DemoProblem], stats: SeedStats, project: int) -> dict[str, Problem]:
    rows = _existing(Problem, list(keyed), project)
    new = [Problem(project_id=project, content_hash=k, text=p.text, ground_truth_answer=p.answer,
                   ground_truth_solution=p.reference,
                   subject=p.subject, level=p.level, source_id=p.source_id, extra={"demo": p.origin})
           for k, p in keyed.items() if k not in rows]
    Problem.objects.bulk_create(new, batch_size=QUERY_CHUNK)
    older = [row for k, row in rows.items() if "demo" not in row.extra]  # seeded before the demo kept its origin
    for row in older:
        row.extra = {**row.extra, "demo": keyed[row.content_hash].origin}
    Problem.objects.bulk_update(older, ["extra"], batch_size=QUERY_CHUNK)
    stats.existing["problems"], stats.created["problems"] = len(rows), len(new)
    rows.update(_existing(Problem, [p.content_hash for p in new], project))  # with ids, whatever the backend gives
    return rows


def _save_solutions(keyed: dict[str, DemoProblem], rows: dict[str, Problem], stats: SeedStats,
                    project: int) -> None:
    wanted = {solution_hash(pkey, s.steps, s.final_answer): (rows[pkey], s)
              for pkey, p in keyed.items() for s in p.solutions}
    found = _existing(Solution, list(wanted), project)
    new = [Solution(project_id=project, content_hash=k, problem=row, steps=s.steps, final_answer=s.final_answer,
                    answer_is_correct=s.is_correct, generator=GENERATOR, source_id=s.source_id,
                    extra={"demo_first_error": s.first_error, "demo_kind": s.kind})
           for k, (row, s) in wanted.items() if k not in found]
    Solution.objects.bulk_create(new, batch_size=QUERY_CHUNK)
    stats.existing["solutions"], stats.created["solutions"] = len(found), len(new)
    stats.wrong = sum(not s.answer_is_correct for s in new)


# --- The second demo project ----------------------------------------------------------

SECOND_PROJECT = {
    "slug": "demo-every-step", "name": "Demo: every step, no neutral", "protocol": Protocol.EVERY_STEP,
    "allow_neutral": False, "qc_every": 5, "lease_seconds": 900,
    "guidelines": "Rate **every** step, +1 or -1: there is no neutral here, and a wrong step does not end the "
                  "pass. Rate the steps after it on their own merits (is this step right, given what came before?).",
}


def seed_second_project(n_problems: int, n_solutions: int, seed: int, logins: list) -> tuple[Project, SeedStats]:
    """A second demo project with another protocol (rate every step, no neutral): some of the same problems (the
    same generator and seed), so the same problem text is in both projects; the demo logins are members with
    their roles."""
    project, _ = Project.objects.get_or_create(slug=SECOND_PROJECT["slug"], defaults=SECOND_PROJECT)
    User = get_user_model()
    for login in logins:
        user = User.objects.get(username=login.username)
        ProjectMember.objects.get_or_create(project=project, user=user, defaults={"role": login.role})
    return project, seed_problems(n_problems, n_solutions, seed, project=project.pk)


# --- Demo logins ---------------------------------------------------------------------

@dataclass
class Login:
    username: str
    role: str
    password: str
    created: bool


class NotADemoUser(Exception):
    """A login with a demo username exists but was not made by seed_demo."""


def demo_usernames(n_annotators: int = 2) -> list[tuple[str, str]]:
    return [*((f"annotator{i}", Role.ANNOTATOR) for i in range(1, n_annotators + 1)),
            ("admin", Role.ADMIN), ("mlstaff", Role.ML_STAFF)]


def new_password() -> str:
    # ~95 bits from token_urlsafe, in groups of four without '-'/'_' so it reads and types easily
    chars = "".join(c for c in secrets.token_urlsafe(24) if c.isalnum())[:16]
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def demo_email(username: str) -> str:
    return f"{username}@{DEMO_EMAIL_DOMAIN}"


@transaction.atomic
def seed_users(n_annotators: int = 2, password: str | None = None, force: bool = False) -> list[Login]:
    """Create or reset the demo logins. Refuses to take over accounts it did not create unless forced,
    so a real `admin` never has its password reset and printed by accident."""
    wanted = demo_usernames(n_annotators)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[name for name, _ in wanted])}
    foreign = sorted(name for name, u in users.items() if u.email != demo_email(name))
    if foreign and not force:
        raise NotADemoUser(", ".join(foreign))
    logins = []
    for username, role in wanted:
        pw = password or new_password()
        set_user(username, pw, role, email=demo_email(username))
        logins.append(Login(username, role.value, pw, username not in users))
    return logins
