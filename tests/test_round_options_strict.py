"""Round options are JSON values whose types are checked, not converted: "4" is not an integer
(it started a round). The message names the field and the JSON type it got. The page's JS sends
numbers (tests/test_rounds_page.py drives it in Chromium); start_round gives argparse's typed
values; a form body is text and is read like the command line."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from activelearn.models import Round
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.config import DEFAULTS, OPTIONS, RoundConfigError, parse_config

pytestmark = pytest.mark.django_db

NUMERIC = [o for o in OPTIONS if o.type in (int, float)]
INTS = [o for o in NUMERIC if o.type is int]
TEXT = [o for o in OPTIONS if o.type is str]


def post(client, body):
    return client.post("/api/rounds/", body, content_type="application/json")


def refused(client, body) -> str:
    r = post(client, body)
    assert r.status_code == 400, (body, r.content)
    (field,) = body
    assert r.json()["field"] == field, r.json()
    assert not Round.objects.exists()
    return r.json()["error"]


def kind(o) -> str:
    return "an integer" if o.type is int else "a number"


def valid(o):
    return o.default if o.default is not None else o.min


@pytest.mark.parametrize("o", NUMERIC, ids=lambda o: o.name)
def test_a_string_for_a_number_is_400_naming_the_field(ml, dispatched, o):
    for text in (str(valid(o)), str(float(valid(o))), " 4 ", "", "1e2"):
        message = refused(ml, {o.name: text})
        assert message.startswith(f"must be {kind(o)}") and message.endswith("got a string"), message
    assert not dispatched


@pytest.mark.parametrize("o", NUMERIC, ids=lambda o: o.name)
def test_booleans_arrays_objects_and_null_are_refused_in_json_words(ml, dispatched, o):
    for value, word in ((True, "true"), (False, "false"), ([4], "an array"), ({"n": 4}, "an object")):
        message = refused(ml, {o.name: value})
        assert message.startswith(f"must be {kind(o)}") and message.endswith(f"got {word}"), message
        assert not any(py in message for py in ("True", "False", "str", "list", "dict", "bool", "NoneType"))
    if not o.nullable:
        assert refused(ml, {o.name: None}).endswith("got null")


@pytest.mark.parametrize("o", INTS, ids=lambda o: o.name)
def test_a_fraction_for_an_integer_is_refused(ml, dispatched, o):
    assert refused(ml, {o.name: valid(o) + 0.5}) == f"must be an integer, got {valid(o) + 0.5}"


@pytest.mark.parametrize("o", TEXT, ids=lambda o: o.name)
def test_a_number_or_boolean_for_text_is_refused(ml, dispatched, o):
    assert refused(ml, {o.name: 4}) == "must be a string, got a number"
    assert refused(ml, {o.name: True}) == "must be a string, got true"


def test_json_numbers_are_accepted(ml, dispatched):
    body = {"per_problem": 3, "wrong_fraction": 1, "per_problem_cap": 5.0, "round_cap": None, "overlap": 2,
            "qc": 0, "epochs": 2, "max_length": 64, "chunk_size": 10, "seed": 7, "samples_per_problem": 8,
            "fewer_than": None, "level": 3, "problem_cap": 2.0, "generate_chunk": 2, "auto_label_k": 4,
            "auto_label_attempts": 2, "auto_label_threshold": 0.4, "auto_label_cap": 50, "auto_label_chunk": 8,
            "best_of_n_trials": 50}
    assert {o.name for o in NUMERIC} == set(body)
    r = post(ml, body)
    assert r.status_code == 201, r.content
    config = Round.objects.get().config
    assert config == {**DEFAULTS, **body} == r.json()["config"]
    assert all(type(config[o.name]) is int for o in INTS if config[o.name] is not None)
    assert type(config["epochs"]) is float and type(config["wrong_fraction"]) is float
    assert type(config["per_problem_cap"]) is int  # 5.0 is an integer


def test_one_parser_refuses_strings_wherever_it_is_called():
    with pytest.raises(RoundConfigError) as exc:
        parse_config({"per_problem": "4"})
    assert (exc.value.field, exc.value.message) == ("per_problem", "must be an integer, got a string")
    with pytest.raises(RoundConfigError) as exc:
        rounds.start_round({"round_cap": "10"})
    assert exc.value.message == "must be an integer, or null, got a string"
    assert parse_config({"per_problem": 4, "epochs": 1}).per_problem == 4


def test_a_form_body_is_text_read_like_the_command_line(ml, dispatched):
    r = ml.post("/api/rounds/", {"per_problem": "x"})
    assert r.status_code == 400 and r.json() == {"error": "must be an integer, got 'x'", "field": "per_problem",
                                                 "errors": [{"field": "per_problem",
                                                             "message": "must be an integer, got 'x'"}]}
    r = ml.post("/api/rounds/", {"per_problem": "3", "per_problem_cap": "none", "epochs": "0.5"})
    assert r.status_code == 201, r.content
    config = Round.objects.get().config
    assert config["per_problem"] == 3 and config["per_problem_cap"] is None and config["epochs"] == 0.5


def command(*args) -> str:
    out = io.StringIO()
    call_command("start_round", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_start_round_passes_typed_values(dispatched):
    with pytest.raises(CommandError, match=r"--per-problem: must be an integer, got '4.5'"):
        command("--per-problem", "4.5")
    with pytest.raises(CommandError, match=r"--epochs: must be a number, got 'lots'"):
        command("--epochs", "lots")
    with pytest.raises(CommandError, match=r"--epochs: must be a finite number"):
        command("--epochs", "nan")
    assert not Round.objects.exists()
    command("--per-problem", "7", "--epochs", "2", "--round-cap", "none", "--per-problem-cap", "3")
    config = Round.objects.get().config
    assert config == {**DEFAULTS, "per_problem": 7, "epochs": 2.0, "round_cap": None, "per_problem_cap": 3}
    assert type(config["per_problem"]) is int and type(config["epochs"]) is float
