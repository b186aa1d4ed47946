"""A round's options are one typed object (issue 27): RoundConfig, parsed once by parse_config, read from
a stored round by config_of, its defaults written once (OPTIONS). No code reads a round's stored options
by key: the walk below fails on such a read in activelearn/ or api/, and on one in a template."""
import ast
import copy
import dataclasses
import re
from pathlib import Path

import pytest

from activelearn.models import Round
from activelearn.rounds.config import DEFAULTS, OPTIONS, RoundConfig, config_of, parse_config
from activelearn.rounds.presets import PRESETS
from labeling.models import DEFAULT_PROJECT_ID

ROOT = Path(__file__).resolve().parent.parent
NAMES = [o.name for o in OPTIONS]

# `.config` of something that is not a round: a generation run's plan (GenerationRun.config) and a
# transformers model's configuration. By file, the names such objects go by there.
NOT_A_ROUND = {"*": {"run", "model", "rm.model"}, "api/serializers/policy.py": {"obj"}}
# Functions whose `["config"]` is not a read of an option: the rounds API's output, whose base_model is
# shown by its public name (the stored JSON is the subject there), and a generation run's plan.
JSON_ITSELF = {("api/serializers/rounds.py", "public"), ("api/serializers/policy.py", "to_representation")}
READS = {"get", "items", "keys", "values", "setdefault", "pop", "update", "copy"}


def _is_stored_options(node: ast.AST, bound: set[str], not_a_round: set[str]) -> bool:
    """`x.config` (a round's stored options), `x["config"]` or `x.get("config")` (a round's JSON), or a
    name bound to one of these."""
    if isinstance(node, ast.Attribute) and node.attr == "config":
        return ast.unparse(node.value) not in not_a_round
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "config":
        return True
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "config"):
        return True
    return isinstance(node, ast.Name) and node.id in bound


def raw_reads(source: str, path: str = "<test>") -> list[str]:
    """Where `source` reads a round's stored options by key (or hands the stored dict to another function,
    which then would): 'line: code' each."""
    tree = ast.parse(source)
    not_a_round = NOT_A_ROUND["*"] | NOT_A_ROUND.get(path, set())
    bound: set[str] = set()
    for node in ast.walk(tree):  # names holding the stored options (`cfg = r.config`)
        if isinstance(node, ast.Assign) and _is_stored_options(node.value, set(), not_a_round):
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (path, node.name) in JSON_ITSELF:
            skip |= {id(n) for n in ast.walk(node)}
    found = []

    def stored(n):
        return _is_stored_options(n, bound, not_a_round)

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        hit = False
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and stored(node.value):
            hit = True  # r.config["seed"]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in READS and stored(node.func.value):
                hit = True  # r.config.get("seed", 0)
            elif ast.unparse(node.func) != "RoundConfig.stored":
                hit = any(stored(a) for a in [*node.args, *(k.value for k in node.keywords)])  # f(r.config)
        elif isinstance(node, ast.Call):
            hit = any(stored(a) for a in [*node.args, *(k.value for k in node.keywords)])
        if hit:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def _sources():
    for top in ("activelearn", "api"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), path.read_text()


def test_the_walk_finds_the_reads_it_is_there_for():
    bad = '''
def threshold(r):
    return r.config.get("auto_label_threshold", 0.5)

def retrain(r):
    cfg = r.config
    return cfg["retrain"]

def select(r):
    return selection_config(r.config)

def shown(data):
    return data["config"]["base_model"], summary.get("config").get("seed")
'''
    assert len(raw_reads(bad)) == 5, raw_reads(bad)
    fine = '''
def threshold(r):
    return config_of(r).auto_label_threshold, run.config["problem_ids"], model.config.hidden_size

def summary(r):
    return {"config": r.config}

def config_of(r):
    return RoundConfig.stored(r.config)
'''
    assert raw_reads(fine) == []


def test_no_code_reads_a_rounds_options_by_key():
    found = {path: reads for path, source in _sources() if (reads := raw_reads(source, path))}
    assert not found, f"read a round's options through config_of(r) / RoundConfig, not by key: {found}"


def test_no_template_reads_a_rounds_options_by_key():
    pattern = re.compile(r"\bconfig\.(\w+)")
    found = [f"{path.relative_to(ROOT)}: config.{m.group(1)}" for path in sorted((ROOT / "templates").rglob("*.html"))
             for m in pattern.finditer(path.read_text()) if m.group(1) in NAMES]
    assert not found, f"give the template the round's RoundConfig (config_of), not its stored dict: {found}"


def test_every_option_is_one_typed_attribute_with_no_default_of_its_own():
    """Each default is written once, in OPTIONS: not in RoundConfig, and not beside a read (`.get(name, default)`:
    the walk above refuses any read of the stored options by key)."""
    fields = dataclasses.fields(RoundConfig)
    assert [f.name for f in fields] == NAMES  # one attribute per option, in the table's order
    assert len(set(NAMES)) == len(NAMES)
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING for f in fields), \
        "a default belongs in OPTIONS only"
    by_name = {o.name: o for o in OPTIONS}
    for f in fields:
        o = by_name[f.name]
        want = o.type | None if o.nullable else o.type
        assert f.type == want, (f.name, f.type, want)


@pytest.mark.django_db
def test_parse_object_dict_round_trips():
    config = parse_config({"strategy": "uniform", "round_cap": 10, "label_weights": {}, "epochs": 2})
    assert isinstance(config, RoundConfig) and config.epochs == 2.0 and type(config.epochs) is float
    stored = config.as_dict()
    assert list(stored) == NAMES and stored == {**DEFAULTS, "strategy": "uniform", "round_cap": 10, "epochs": 2.0}
    assert RoundConfig.stored(stored) == config
    assert parse_config(stored) == config  # the stored JSON is a valid request for the same round
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]
    for preset in PRESETS:
        parsed = parse_config(dict(preset.values), DEFAULT_PROJECT_ID)
        assert RoundConfig.stored(parsed.as_dict()) == parsed


def test_the_defaults_are_the_tables_and_are_not_shared():
    config = RoundConfig.stored({})
    assert config.as_dict() == DEFAULTS and config.auto_label_threshold == 0.5
    config.policy_overrides["temperature"] = 0.5  # a frozen object's dict is still a dict: never the table's
    assert DEFAULTS["policy_overrides"] == {} == RoundConfig.stored({}).policy_overrides


def test_a_stored_round_is_read_as_it_was_started():
    """A round started before an option existed reads its default; a key no option has any more is left
    out; nothing is checked again (PRM_ALLOWED_BACKBONES may have changed since it started)."""
    old = {k: v for k, v in DEFAULTS.items() if not k.startswith("auto_label")}
    old |= {"strategy": "top_k", "base_model": "/a/path/allowed/then", "retired_option": 3}
    r = Round(generation=1, config=copy.deepcopy(old))
    config = config_of(r)
    assert config.strategy == "top_k" and config.base_model == "/a/path/allowed/then"
    assert config.auto_label_threshold == 0.5 and config.auto_label_cap == 200 and not hasattr(config, "retired_option")
    assert r.config == old  # reading changes nothing stored
