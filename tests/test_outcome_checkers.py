"""Outcome checkers chosen per project (activelearn.grading.checkers): exact and HotpotQA-normalised match
against accepted answers, numeric tolerance, regular expressions (a pattern that backtracks forever times out),
the outcome the file carried, unit tests in the sandbox, math; and grade_outcomes on real AgentProcessBench
traces."""
import pytest
from django.core.management import CommandError, call_command

from activelearn.grading import checkers, sandbox
from activelearn.grading.checkers import CheckerError, check, validate
from activelearn.labellers.outcome_judge import parse as parse_verdict
from labeling.imports import files as importers
from labeling.models import Project, Solution
from tests.test_trajectories import TRACES


def test_exact_and_normalised_match_as_hotpotqa_does():
    assert check({"kind": "exact"}, " Marion, South Australia ", ["Marion, South Australia"]) is True
    assert check({"kind": "exact"}, "marion, south australia", ["Marion, South Australia"]) is False
    assert check({"kind": "normalised"}, "marion south australia.", ["Marion, South Australia"]) is True
    assert check({"kind": "normalised"}, "The Beatles", ["Beatles"]) is True
    assert check({"kind": "normalised"}, "Adelaide", ["Marion, South Australia"]) is False
    assert check({"kind": "normalised"}, "", ["x"]) is None and check({"kind": "exact"}, "x", []) is None


def test_numeric_tolerance():
    assert check({"kind": "numeric"}, "About 3.1416 metres", ["3.14159"], ) is False  # default: 1e-6 relative
    assert check({"kind": "numeric", "rel_tol": 1e-3}, "About 3.1416 metres", ["3.14159"]) is True
    assert check({"kind": "numeric", "abs_tol": 0.5}, "1,000", ["1000.4"]) is True
    assert check({"kind": "numeric"}, "−42", ["-42"]) is True
    assert check({"kind": "numeric"}, "no number here", ["1"]) is None


def test_regex_including_a_pattern_that_backtracks_forever():
    assert check(validate({"kind": "regex", "pattern": r"\d{4}-\d{2}-\d{2}"}), " 2026-01-18 ", []) is True
    assert check(validate({"kind": "regex", "pattern": "yes", "flags": "i"}), "YES", []) is True
    assert check(validate({"kind": "regex", "pattern": "yes"}), "YES", []) is False
    slow = validate({"kind": "regex", "pattern": r"(a+)+$"})
    assert check(slow, "a" * 40 + "!", [], timeout=1.0) is None  # timed out in the worker: ungradable, no hang


def test_file_outcome_and_math():
    assert check({"kind": "file"}, None, [], reward=1.0) is True
    assert check({"kind": "file"}, None, [], reward=0.0) is False and check({"kind": "file"}, "x", []) is None
    assert check({"kind": "file", "threshold": 0.5}, None, [], reward=0.6) is True
    assert check({"kind": "math"}, "\\frac{1}{2}", ["0.5"]) is True
    assert check({"kind": "math"}, "3", ["4"]) is False


def test_settings_are_validated_naming_the_field():
    assert validate({}) == {"kind": "math"}
    for bad, field in (({"kind": "vibes"}, "outcome_checker.kind"),
                       ({"kind": "regex", "pattern": "("}, "outcome_checker.pattern"),
                       ({"kind": "exact", "pattern": "x"}, "outcome_checker.pattern"),
                       ({"kind": "numeric", "rel_tol": -1}, "outcome_checker.rel_tol"),
                       ({"kind": "unit_tests"}, "outcome_checker.tests"),
                       ({"kind": "judge"}, "outcome_checker.connection")):
        with pytest.raises(CheckerError) as exc:
            validate(bad)
        assert exc.value.field == field
    with pytest.raises(CheckerError):
        check(validate({"kind": "judge", "connection": "j"}), "x", ["y"])  # no judge given


def test_judge_verdicts_are_read_strictly():
    assert parse_verdict("Looks right.\nVERDICT: CORRECT") is True
    assert parse_verdict("verdict: incorrect") is False
    assert parse_verdict("CORRECT") is None and parse_verdict("VERDICT: CORRECT, probably.") is None


@pytest.mark.skipif(not sandbox.available(), reason="needs util-linux unshare and namespaces (Linux)")
def test_unit_tests_run_the_answers_program_in_the_sandbox():
    tests = validate({"kind": "unit_tests", "tests": "assert add(2, 3) == 5\nassert add(-1, 1) == 0",
                      "wall_seconds": 5})
    right = "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```"
    assert check(tests, right, []) is True
    assert check(tests, "```python\ndef add(a, b):\n    return a - b\n```", []) is False
    sneaky = "```python\nimport socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)\ndef add(a, b): " \
             "return a + b\n```"
    assert check(tests, sneaky, []) is False  # no network: the program fails
    assert check(tests, "```python\nwhile True: pass\n```", []) is None  # timed out: ungradable
    assert checkers.program_of("no fence") == "no fence"


@pytest.mark.django_db
def test_grade_outcomes_on_real_traces_by_the_projects_checker():
    importers.import_solutions(TRACES)
    traces = {s.source_id: s for s in Solution.objects.all()}
    assert traces["searchR1_hotpotqa:0:0"].answer_is_correct is False  # the file's reward, as imported
    call_command("grade_outcomes", "--checker", '{"kind": "normalised"}', "--force")
    assert Project.objects.get(pk=1).outcome_checker == {"kind": "normalised"}
    graded = {s.source_id: (s.final_answer, s.answer_is_correct, s.answer_graded_at is not None)
              for s in Solution.objects.all()}
    # HotpotQA's exact match: "Adelaide" is not "Marion, South Australia"
    assert graded["searchR1_hotpotqa:0:0"] == ("Adelaide", False, True)
    assert all(done for _, _, done in graded.values())
    for sid, (answer, ok, _) in graded.items():
        gt = traces[sid].extra["trajectory"]["ground_truth"]["target"]
        assert ok == (checkers.normalise(answer) in {checkers.normalise(g) for g in gt})
    with pytest.raises(CommandError, match="outcome_checker.kind"):
        call_command("grade_outcomes", "--checker", '{"kind": "vibes"}')


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_judge_checker_asks_a_real_model_server_and_never_guesses(tmp_path_factory):
    """`transformers serve` on a micro model (tests/policy_server.py): its text is nonsense, so no verdict line
    comes back and every trace stays ungraded; the request, the chat prompt and the accounting are real."""
    from activelearn.labellers.outcome_judge import OutcomeJudge
    from activelearn.policy import connection_writes
    from labeling.demo.problems import generate

    from .policy_server import PolicyServer, build_model

    corpus = [t for p in generate(6, 2, seed=1) for t in (p.text, *(s for sol in p.solutions for s in sol.steps))]
    srv = PolicyServer(build_model(tmp_path_factory.mktemp("judge-lm"), corpus),
                       tmp_path_factory.mktemp("judge-log") / "serve.log").start()
    try:
        connection_writes.create("outcome-judge", {"base_url": srv.base_url, "model": str(srv.model_dir),
                                                   "max_tokens": 8, "endpoint": "chat"})
        importers.import_solutions(TRACES)
        judge = OutcomeJudge("outcome-judge", project=1)
        call_command("grade_outcomes", "--checker", '{"kind": "judge", "connection": "outcome-judge"}', "--force")
        assert Solution.objects.filter(answer_graded_at__isnull=False).count() == 0  # nonsense: no verdict
        assert judge("Adelaide", ["Marion, South Australia"]) is None and judge.usage.requests == 1
        assert judge.usage.completion_tokens > 0
    finally:
        srv.kill()
