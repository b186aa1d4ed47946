"""What a project's outcome checker setting may be (`Project.outcome_checker`, `{"kind": ..., options}`; {} is
math): the kinds, their options and `validate`, which names the field it refuses. The checks themselves are
activelearn.grading.checkers; this part sits beside the model so that every save path (the settings page,
the API, `grade_outcomes --checker`) checks it the same way (Project.clean). Pure: no database."""
import re

KINDS = ("math", "exact", "normalised", "numeric", "regex", "file", "unit_tests", "judge")
OPTIONS = {"math": set(), "exact": set(), "normalised": set(), "numeric": {"rel_tol", "abs_tol"},
           "regex": {"pattern", "flags"}, "file": {"threshold"},
           "unit_tests": {"tests", "cpu_seconds", "memory_mb", "wall_seconds", "processes"},
           "judge": {"connection", "prompt"}}
MAX_PATTERN = 2000
MAX_TESTS = 200_000


class CheckerError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def validate(config) -> dict:
    """A project's checker settings, checked (CheckerError names the field); {} is math."""
    if config in (None, {}):
        return {"kind": "math"}
    if not isinstance(config, dict):
        raise CheckerError("outcome_checker", "must be an object {kind, options...}")
    kind = config.get("kind", "math")
    if kind not in KINDS:
        raise CheckerError("outcome_checker.kind", f"must be one of {', '.join(KINDS)}")
    unknown = set(config) - OPTIONS[kind] - {"kind"}
    if unknown:
        raise CheckerError(f"outcome_checker.{sorted(unknown)[0]}", f"is not an option of the {kind} checker")
    for key in ("rel_tol", "abs_tol", "threshold", "cpu_seconds", "memory_mb", "wall_seconds", "processes"):
        v = config.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v > 10**6):
            raise CheckerError(f"outcome_checker.{key}", "must be a non-negative number")
    if kind == "regex":
        pattern = config.get("pattern")
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN:
            raise CheckerError("outcome_checker.pattern", f"must be a regular expression of 1..{MAX_PATTERN} "
                                                          "characters")
        if config.get("flags", "") not in ("", "i"):
            raise CheckerError("outcome_checker.flags", 'must be "" or "i"')
        try:
            re.compile(pattern)
        except re.error as exc:
            raise CheckerError("outcome_checker.pattern", f"is not a regular expression: {exc}") from None
    if kind == "unit_tests":
        tests = config.get("tests")
        if not isinstance(tests, str) or not tests.strip() or len(tests) > MAX_TESTS:
            raise CheckerError("outcome_checker.tests", "must be the Python test code to run after the program")
    if kind == "judge" and not isinstance(config.get("connection"), str):
        raise CheckerError("outcome_checker.connection", "must name the policy connection of the judge")
    return dict(config, kind=kind)
