"""seed_demo: demo logins per role, generated problems whose wrong solutions slip visibly, idempotent."""
import ast
import io
import operator
import re
from fractions import Fraction

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from labeling.demo import checker
from labeling.demo import problems as demo_problems
from labeling.demo import seed as demo
from labeling.formats.solution_text import extract_answer
from labeling.models import DEFAULT_PROJECT_ID, Annotator, Problem, Role, Solution
from labeling.storage.hashing import problem_hash, solution_hash

from .helpers import row_counts

# --- An independent checker of the arithmetic claimed inside $...$ -------------------

MATH = re.compile(r"\$([^$]*)\$")
LATEX = [("\\left", ""), ("\\right", ""), ("\\times", "*"), ("\\cdot", "*"), ("\\div", "/"), ("\\frac", ""),
         ("}{", ")/("), ("{", "("), ("}", ")")]
OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _eval(node) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Fraction(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in OPS:
        return OPS[type(node.op)](_eval(node.left), _eval(node.right))
    raise ValueError(ast.dump(node))


def number(expr: str) -> Fraction | None:
    """The value of a purely numeric LaTeX expression, None if it has anything else (x, \\cdots...)."""
    for old, new in LATEX:
        expr = expr.replace(old, new)
    if not re.fullmatch(r"[\d\s.+\-*/()]+", expr):
        return None
    return _eval(ast.parse(expr.strip(), mode="eval").body)


def claims(step: str) -> list[tuple[str, str, bool]]:
    """Each `A = B` between two numeric sides in the step's math, with whether it holds."""
    out = []
    for math in MATH.findall(step):
        sides = math.split("=")
        for left, right in zip(sides, sides[1:], strict=False):
            a, b = number(left), number(right)
            if a is not None and b is not None:
                out.append((left.strip(), right.strip(), a == b))
    return out


def false_claims(step: str) -> list:
    return [c for c in claims(step) if not c[2]]


def test_checker_itself():
    assert false_claims("so $7 \\times 8 = 54$ rolls") == [("7 \\times 8", "54", False)]
    assert not false_claims("$3x = 22 - 7 = 15$ and $\\frac{2}{3} = \\frac{2 \\times 4}{3 \\times 4} = \\frac{8}{12}$")
    assert false_claims("$x = -24 \\div 8 = 3$") and false_claims("$\\frac{25}{100} \\times 40 = 11$")
    assert claims("$1 + 2 + \\cdots + 9$, $x = 5$") == []


# --- Running the command ---------------------------------------------------------------

def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def parse_logins(output: str) -> dict[str, tuple[str, str]]:
    rows = [line.split() for line in output.split("Demo logins")[1].splitlines()[1:] if line.strip()]
    assert rows[0] == ["username", "role", "password"]
    return {username: (role, password) for username, role, password in rows[2:]}


def can_log_in(username: str, password: str) -> bool:
    request = RequestFactory().post("/accounts/login/")  # login backends such as axes want the request
    return authenticate(request, username=username, password=password) is not None


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # the real hasher is slow on purpose, and these tests set and check many passwords
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db) -> str:
    return seed()


@pytest.mark.django_db
def test_a_login_per_role_that_works_with_the_printed_password(seeded):
    logins = parse_logins(seeded)
    assert {u: role for u, (role, _) in logins.items()} == {
        "annotator1": Role.ANNOTATOR, "annotator2": Role.ANNOTATOR, "admin": Role.ADMIN, "mlstaff": Role.ML_STAFF}
    for username, (role, password) in logins.items():
        assert len(password) >= 16
        assert can_log_in(username, password), username
        assert not can_log_in(username, password + "x")
        user = get_user_model().objects.get(username=username)
        assert user.annotator.role == role
        assert user.is_staff == (role != Role.ANNOTATOR)
    assert len({pw for _, pw in logins.values()}) == len(logins), "each login gets its own random password"


@pytest.mark.django_db
def test_problems_and_solutions_look_like_prm800k_data(seeded):
    assert "problems: 60 created, 0 already present; solutions: 240 created, 0 already present" in seeded
    problems = list(Problem.objects.filter(project_id=DEFAULT_PROJECT_ID))  # the second project: its own test
    assert len(problems) == 60
    for p in problems:
        assert re.fullmatch(r"demo/[a-z]+/\d{4}", p.source_id)
        assert p.subject and p.level and p.ground_truth_answer
        assert p.ground_truth_solution.endswith(f"$\\boxed{{{p.ground_truth_answer}}}$.")
        assert p.content_hash == problem_hash(p.text)
    assert {p.source_id.split("/")[1] for p in problems} == {f.name for f in demo_problems.FAMILIES}
    assert "$" in "".join(p.text for p in problems)  # LaTeX math in the statements

    solutions = list(Solution.objects.filter(project_id=DEFAULT_PROJECT_ID).select_related("problem"))
    assert len(solutions) == 240
    for s in solutions:
        assert s.generator == demo_problems.GENERATOR and len(s.steps) >= 2
        assert s.steps[-1].endswith(f"\n\n# Answer\n\n{s.final_answer}")
        assert extract_answer(s.steps[-1]) == s.final_answer
        assert s.content_hash == solution_hash(s.problem.content_hash, s.steps, s.final_answer)
        assert s.source_id.startswith(f"{s.problem.source_id}/")
    wrong = sum(not s.answer_is_correct for s in solutions)
    assert 0.35 <= wrong / len(solutions) <= 0.65
    for p in problems:  # with 4 candidates each problem gets 1 to 3 wrong ones: something to compare
        assert {s.answer_is_correct for s in solutions if s.problem_id == p.id} == {True, False}


def check_solution(s: Solution, known: frozenset) -> None:
    """The generator's record of a solution against the checker's step labels and the arithmetic above."""
    first, kind = s.extra["demo_first_error"], s.extra["demo_kind"]
    ratings = checker.check(s.steps, known)
    if kind is None:
        assert first is None and -1 not in ratings, (ratings, s.steps)
        assert s.final_answer == s.problem.ground_truth_answer
        assert not any(false_claims(step) for step in s.steps), s.steps
        return
    assert kind in demo_problems.SLIP_KINDS
    assert isinstance(first, int) and 0 <= first < len(s.steps)
    assert checker.first_error(ratings) == first, (kind, first, ratings, s.steps)  # found, and nothing before it
    if kind in ("arithmetic", "aside"):
        assert false_claims(s.steps[first]), f"step {first} states no false arithmetic: {s.steps[first]!r}"
    # the error is carried forward, not repeated: every other step's arithmetic is right
    assert not any(false_claims(step) for i, step in enumerate(s.steps) if i != first), s.steps
    if kind == "aside":  # a false re-check, then the right answer
        assert s.final_answer == s.problem.ground_truth_answer and ratings[-1] == 1
    else:
        assert number(s.final_answer) != number(s.problem.ground_truth_answer)


def known_of(problem: Problem) -> frozenset:
    return demo_problems.known_values(*demo_problems.spec_of(problem.extra["demo"]))


@pytest.mark.django_db
def test_wrong_steps_are_visibly_false_and_lead_to_a_wrong_answer(seeded):
    # the math solutions of both math projects (demo-agent's traces: tests/test_demo_agent.py)
    solutions = list(Solution.objects.exclude(project__slug="demo-agent").select_related("problem"))
    for s in solutions:
        check_solution(s, known_of(s.problem))
    assert sum(len(claims(step)) for s in solutions for step in s.steps) > 2 * len(solutions)


def test_generator_over_many_problems_and_seeds():
    # Pure generator, no database: every family, many parameter draws.
    for seed_value in (1, 2):
        for p in demo_problems.generate(150, 5, seed_value):
            assert len(p.solutions) == 5
            assert len({tuple(s.steps) for s in p.solutions}) == 5, "candidates must differ"
            known = demo_problems.known_values(*demo_problems.spec_of(p.origin))
            for s in p.solutions:
                row = Solution(steps=s.steps, final_answer=s.final_answer, answer_is_correct=s.is_correct,
                               extra={"demo_first_error": s.first_error, "demo_kind": s.kind},
                               problem=Problem(text=p.text, ground_truth_answer=p.answer))
                check_solution(row, known)
            assert not any(false_claims(step) for step in p.reference.split("\n\n"))


def test_same_seed_same_data_and_problems_do_not_depend_on_the_count():
    first, again = demo_problems.generate(30, 4, seed=5), demo_problems.generate(30, 4, seed=5)
    assert first == again
    assert demo_problems.generate(12, 4, seed=5) == first[:12]
    assert [p.text for p in demo_problems.generate(30, 4, seed=6)] != [p.text for p in first]


@pytest.mark.django_db
def test_rerun_creates_nothing_and_resets_passwords(seeded):
    before = row_counts()
    hashes = set(Solution.objects.values_list("content_hash", flat=True))
    old = parse_logins(seeded)
    output = seed()
    assert "problems: 0 created, 60 already present; solutions: 0 created, 240 already present" in output
    assert row_counts() == before
    assert set(Solution.objects.values_list("content_hash", flat=True)) == hashes
    new = parse_logins(output)
    for username, (_, password) in new.items():
        assert password != old[username][1]
        assert can_log_in(username, password) and not can_log_in(username, old[username][1])
    assert get_user_model().objects.count() == Annotator.objects.filter(user__isnull=False).count() == 4
    assert Annotator.objects.filter(uuid=demo.DEMO_LABELLER, user__isnull=True).count() == 1


@pytest.mark.django_db
def test_demo_has_labels_to_train_on_a_queue_and_a_pool_for_rounds(seeded):
    import orjson

    from activelearn.rounds.pool import pool
    from labeling.exports.writers import prm800k_lines
    from labeling.formats.prm800k import first_error, parse_record
    from labeling.models import LabeledPass, QueueEntry

    passes = list(LabeledPass.objects.filter(project_id=DEFAULT_PROJECT_ID).select_related("solution"))
    queued = QueueEntry.objects.filter(project_id=DEFAULT_PROJECT_ID).count()
    free = pool().filter(project_id=DEFAULT_PROJECT_ID).count()
    assert len(passes) and queued and free and len(passes) + queued + free + 7 == 240  # 7: screening + QC
    assert {p.generation for p in passes} == {0} and {p.solution.generation for p in passes} == {0}
    for p in passes:  # the known first error, as a careful labeller would mark it
        known = p.solution.extra.get("demo_first_error")
        assert first_error(p.steps) == (-1 if known is None else known)
        assert p.finish_reason == ("solution" if known is None else "found_error")
    for line in prm800k_lines(LabeledPass.objects.all()):  # export as valid PRM800K records
        parse_record(orjson.loads(line))
    labelled = set(LabeledPass.objects.filter(project_id=DEFAULT_PROJECT_ID).values_list("problem_id", flat=True))
    queued_problems = set(QueueEntry.objects.filter(project_id=DEFAULT_PROJECT_ID)
                          .values_list("solution__problem_id", flat=True))
    free_problems = set(pool().filter(project_id=DEFAULT_PROJECT_ID).values_list("problem_id", flat=True))
    assert not (labelled & free_problems) and not (labelled & queued_problems) and not (queued_problems & free_problems)


@pytest.mark.django_db
def test_stored_data_is_what_the_seed_generates():
    seed("--problems", "18", "--seed", "9", "--solutions", "3")
    expected = {solution_hash(problem_hash(p.text), s.steps, s.final_answer)
                for p in demo_problems.generate(18, 3, seed=9) for s in p.solutions}
    math = Solution.objects.exclude(project__slug="demo-agent")  # demo-agent's traces: tests/test_demo_agent.py
    assert set(math.values_list("content_hash", flat=True)) == expected
    output = seed("--problems", "24", "--seed", "9", "--solutions", "3")  # a longer run extends the same set
    assert "problems: 6 created, 18 already present" in output


@pytest.mark.django_db
def test_fixed_password_and_more_annotators():
    logins = parse_logins(seed("--problems", "0", "--password", "a-demo-password", "--annotators", "3"))
    assert set(logins) == {"annotator1", "annotator2", "annotator3", "admin", "mlstaff"}
    assert all(can_log_in(u, "a-demo-password") for u in logins)


@pytest.mark.django_db
def test_refuses_to_take_over_an_account_it_did_not_create():
    get_user_model().objects.create_user("admin", "boss@example.com", "the-real-password")
    with pytest.raises(CommandError, match="admin"):
        seed("--problems", "6")
    assert can_log_in("admin", "the-real-password")
    assert row_counts()["Problem"] == 0 and not get_user_model().objects.filter(username="mlstaff").exists()
    logins = parse_logins(seed("--problems", "6", "--force"))
    assert can_log_in("admin", logins["admin"][1])
    assert get_user_model().objects.get(username="admin").annotator.role == Role.ADMIN


def test_a_second_demo_project_rates_every_step_without_neutral_and_shares_problems(seeded):
    from labeling.models import LabeledPass, Project, ProjectMember, QueueEntry

    assert "Second project demo-every-step" in seeded
    second = Project.objects.get(slug="demo-every-step")
    assert (second.protocol, second.allow_neutral) == ("every_step", False) and "every" in second.guidelines
    mine = Problem.objects.filter(project=second)
    assert mine.count() == 20  # a third of the default project's 60
    assert set(mine.values_list("text", flat=True)) <= set(Problem.objects.filter(project_id=DEFAULT_PROJECT_ID)
                                                           .values_list("text", flat=True))
    assert QueueEntry.objects.filter(project=second).exists() and LabeledPass.objects.filter(project=second).exists()
    assert not Solution.objects.filter(project=second).exclude(problem__project=second).exists()
    roles = dict(ProjectMember.objects.filter(project=second).values_list("user__username", "role"))
    assert roles and set(roles.values()) == {"annotator", "admin", "ml_staff"}
