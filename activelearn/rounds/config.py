"""A round's configuration: defaults, types, bounds (OPTIONS, the one place they are written). One
parser for the page, the API and `start_round`, so every entry point accepts exactly the same
options; what it returns, and what every reader of a round gets (`config_of`), is one typed
`RoundConfig`. The round stores it as JSON (`Round.config`, `RoundConfig.as_dict`).

Values are JSON values and their types are checked, not converted: "4" is not an integer (the
page sends numbers; `start_round` turns its command-line text into typed values with
`from_text` first)."""
import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from activelearn import options
from activelearn.models import ModelVersion, Round
from activelearn.options import Option, OptionError
from activelearn.policy import connection
from activelearn.policy import demo as demo_policy
from activelearn.prm import allowlist, label_mix
from activelearn.prm.aggregation import AGGREGATIONS
from activelearn.prm.label_mix import LabelMix
from activelearn.selection.strategies import STRATEGIES, SelectionConfig
from labeling.models import DEFAULT_PROJECT_ID, AutoLabelRun, LabeledPass, Problem


class RoundConfigError(OptionError):
    """A round option refused: `field` names it."""


class _BackboneNames(Sequence):
    """The names `base_model` may take, read from the settings whenever asked (the page's select):
    empty (the default) and the names in PRM_ALLOWED_BACKBONES."""

    def _names(self) -> tuple[str, ...]:
        return ("", *allowlist.allowed_backbones())

    def __getitem__(self, i):
        return self._names()[i]

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return "<PRM_ALLOWED_BACKBONES names>"


# Options naming a policy connection: their choices are a project's (the built-in ones and its
# own), so they are given per project (connection.names) by the page and checked by parse_config.
CONNECTION_OPTIONS = ("generate_with", "auto_label_connection")


GENERATION_OPTIONS = [
    Option("generate_with", str, "", "Sample fresh candidates first, from this policy connection: demo (the built-in "
           "demo generator), default (POLICY_BASE_URL) or a stored one; empty = no generation. Left out: demo where "
           "the project has demo problems, else none (the page's form shows the same default).",
           check=connection.check_name),
    Option("samples_per_problem", int, 16, "Samples asked of the policy per problem.", min=1, max=4096),
    Option("fewer_than", int, None, "Generate only for problems with fewer than this many candidates; empty = all.",
           min=1, max=10**6, nullable=True),
    Option("subject", str, "", "Generate only for problems of this subject; empty = any."),
    Option("level", int, None, "Generate only for problems of this level; empty = any.", min=0, max=32767,
           nullable=True),
    Option("source", str, "", "Generate only for problems whose source id starts with this; empty = any."),
    Option("problem_cap", int, None, "Generate for at most this many problems (lowest ids first); empty = all.",
           min=1, max=10**6, nullable=True),
    Option("generate_chunk", int, 4, "Problems per generation task; tasks run in parallel on all workers.", min=1,
           max=10_000),
    Option("policy_overrides", dict, {}, "Connection options for this round (any but the server and the key "
           "variable: base_url and api_key_env are the connection's own), e.g. "
           '{"temperature": 0.7, "max_tokens": 512}.', check=connection.check_overrides),
]

AUTO_LABEL_OPTIONS = [
    Option("auto_label_with", str, "", "Label candidates automatically before selecting: rollout, first_error, "
           "judge or prm (the new PRM at auto_label_threshold); empty = no automatic labels. The disagreement "
           "strategy needs them.", choices=("", "rollout", "first_error", "judge", "prm")),
    Option("auto_label_connection", str, "demo", "The completer's or judge's policy connection.",
           check=connection.check_name),
    Option("auto_label_k", int, 8, "Continuations per step (rollout) or per probe (first_error).", min=1, max=256),
    Option("auto_label_attempts", int, 1, "Judge answers per solution (majority).", min=1, max=32),
    Option("auto_label_threshold", float, 0.5, "prm: a step scored below this is an error.", min=0, max=1),
    Option("auto_label_cap", int, 200, "Label at most this many candidates, the highest scored first; empty = all.",
           min=1, max=10**6, nullable=True),
    Option("auto_label_chunk", int, 16, "Solutions per labelling task.", min=1, max=10_000),
]

OPTIONS = [
    Option("strategy", str, "convincing", "convincing: per problem, wrong_fraction most convincing wrong answers and "
           "the rest most convincing of the remainder; top_k: global top-K wrong answers; uniform: random (control); "
           "disagreement: where the automatic labels and the PRM disagree most (needs auto_label_with); "
           "uncertainty: where the PRM is least sure of a step.",
           choices=STRATEGIES),
    Option("per_problem", int, 4, "Solutions selected per problem (convincing).", min=1, max=1000),
    Option("wrong_fraction", float, 0.8, "Share of convincing wrong-answer solutions per problem.", min=0, max=1),
    Option("per_problem_cap", int, None, "At most this many per problem (any strategy).", min=1, max=1000,
           nullable=True),
    Option("round_cap", int, 500, "At most this many solutions in the round (K for top_k and uniform).", min=1,
           max=10**6, nullable=True),
    Option("overlap", int, 1, "Independent passes wanted per selected solution.", min=1, max=20),
    Option("qc", int, 0, "Quality-control solutions (with gold labels) given this round's generation.", min=0,
           max=10**4),
    Option("retrain", str, "scratch", "scratch: train a new PRM on all labels; finetune: continue the active "
           "version; none: score with the active version as it is.", choices=("scratch", "finetune", "none")),
    Option("epochs", float, 3.0, "Training epochs.", min=0.01, max=100),
    Option("max_length", int, 512, "Tokens per sequence for training and scoring.", min=16, max=8192),
    Option("base_model", str, "", "Backbone for a scratch run, by name: one of PRM_ALLOWED_BACKBONES; empty = the "
           "default (PRM_BASE_MODEL, else the bundled all-MiniLM-L6-v2). Never a path.",
           choices=_BackboneNames(), check=allowlist.check_backbone_name),
    Option("train_labels", str, "human", "What the PRM trains on: human passes only; human+consensus: plus "
           "automatic labels where a rollout source and a judge name the same first error; sources: the sources "
           "in label_weights, with their weights.", choices=label_mix.MIXES),
    Option("label_weights", dict, {}, "train_labels=sources: source -> loss weight, e.g. {\"human\": 1, "
           "\"rollout\": 0.5}.", check=label_mix.check_weights),
    Option("soft_targets", str, "hard", "soft: train towards a step's share of rollouts that reached the right "
           "answer, where the source gives one.", choices=("hard", "soft")),
    Option("aggregation", str, "", "How a solution's step scores make its score, for selection and best-of-N: "
           "prod (the paper), min, last (the last step's), mean_log (their geometric mean); empty = the one whose "
           "final-answer AUROC was best on the new version's validation.", choices=("", *AGGREGATIONS)),
    Option("orm", str, "active", "The outcome reward model best-of-N compares with: active (the project's active "
           "ORM, if any), train (train one beside the PRM on the same labelled solutions' final answers, and make "
           "it active), none.", choices=("active", "train", "none")),
    Option("best_of_n_trials", int, 100, "Random subsets per N for the best-of-N a round that generated at least 2 "
           "samples per problem records at its end.", min=1, max=2000),
    Option("chunk_size", int, 256, "Solutions per scoring task; chunks run in parallel on all workers.", min=1,
           max=100_000),
    Option("seed", int, 0, "Seed for training and uniform selection.", min=0, max=2**31 - 1),
    *GENERATION_OPTIONS,
    *AUTO_LABEL_OPTIONS,
]
DEFAULTS = {o.name: o.default for o in OPTIONS}

# The page's form, grouped by what a person decides: (key, title, options shown, options folded away
# as rarely changed). Every option is in exactly one group (tests/test_round_form.py).
GROUPS = (
    ("select", "What to label next", ("strategy", "per_problem", "wrong_fraction", "round_cap"),
     ("per_problem_cap", "overlap", "qc", "seed")),
    ("model", "The model", ("retrain", "epochs", "base_model", "train_labels", "aggregation", "orm"),
     ("max_length", "label_weights", "soft_targets", "best_of_n_trials", "chunk_size")),
    ("generate", "Fresh candidates", ("generate_with", "samples_per_problem", "problem_cap", "policy_overrides"),
     ("fewer_than", "subject", "level", "source", "generate_chunk")),
    ("auto_label", "Automatic labels", ("auto_label_with", "auto_label_connection", "auto_label_threshold"),
     ("auto_label_k", "auto_label_attempts", "auto_label_cap", "auto_label_chunk")),
)


def default_generation(project: int) -> str:
    """`generate_with` when a round does not name it: the built-in demo policy where the project has demo
    problems to sample from (the quickstart: a new user's first round samples fresh candidates), else none.
    The page's form and every other entry point (the API, `start_round`) take their default from here, so
    the page's default round and `start_round --wait`'s are the same round."""
    return connection.DEMO if Problem.objects.filter(project_id=project, extra__has_key="demo").exists() else ""


def project_defaults(project: int) -> dict:
    """A project's own defaults: default_generation; where nobody has labelled yet but automatic labels are
    there (the demo agent's checker labels), training on those sources, each weighing 1 (on people's labels
    alone there would be nothing to train on); and in a project of traces the demo policy samples from (the
    demo agent), 8 samples per problem of which 2 are selected, and one epoch: a trace costs several times a
    math solution to train on and to score, and the round stays minutes long on a CPU."""
    out = {"generate_with": default_generation(project)}
    if not LabeledPass.objects.filter(project_id=project).exists():
        sources = sorted(set(AutoLabelRun.objects.filter(project_id=project).values_list("source", flat=True)))
        if sources:
            out.update(train_labels="sources", label_weights=dict.fromkeys(sources, 1.0))
    if out["generate_with"] == connection.DEMO and demo_policy.writes_traces(project):
        out.update(samples_per_problem=8, per_problem=2, epochs=1.0)
    return out


def with_defaults(data: dict | None, project: int) -> dict:
    """The options as given, with the project's own defaults (project_defaults) where they were left out."""
    data = dict(data or {})
    for name, value in project_defaults(project).items():
        data.setdefault(name, value)
    return data


def from_text(o: Option, text: str):
    return options.from_text(o, text, RoundConfigError)


def from_form(data: dict) -> dict:
    """A form body's fields (all text) as typed values, by from_text; unknown keys are left for
    parse_config to refuse by name."""
    known = {o.name: o for o in OPTIONS}
    return {k: from_text(known[k], v) if k in known and isinstance(v, str) else v for k, v in data.items()}


@dataclass(frozen=True)
class RoundConfig:
    """A round's options, typed: one attribute per option of OPTIONS, in its order (tests/test_round_config.py).
    No defaults here: OPTIONS holds them, and `parse_config` or `stored` fills them in."""

    strategy: str
    per_problem: int
    wrong_fraction: float
    per_problem_cap: int | None
    round_cap: int | None
    overlap: int
    qc: int
    retrain: str
    epochs: float
    max_length: int
    base_model: str
    train_labels: str
    label_weights: dict
    soft_targets: str
    aggregation: str
    orm: str
    best_of_n_trials: int
    chunk_size: int
    seed: int
    generate_with: str
    samples_per_problem: int
    fewer_than: int | None
    subject: str
    level: int | None
    source: str
    problem_cap: int | None
    generate_chunk: int
    policy_overrides: dict
    auto_label_with: str
    auto_label_connection: str
    auto_label_k: int
    auto_label_attempts: int
    auto_label_threshold: float
    auto_label_cap: int | None
    auto_label_chunk: int

    @classmethod
    def stored(cls, data: dict) -> "RoundConfig":
        """A round's options as it stored them (checked by parse_config when it started, so not checked again:
        the settings a check reads may have changed since). An option added after the round started takes its
        default; a key no option has any more is left out."""
        return cls(**{o.name: copy.deepcopy(data.get(o.name, o.default)) for o in OPTIONS})

    def as_dict(self) -> dict:
        """The JSON a round stores and the API shows: every option by name, in OPTIONS' order."""
        return asdict(self)

    def selection(self) -> SelectionConfig:
        return SelectionConfig(strategy=self.strategy, per_problem=self.per_problem,
                               wrong_fraction=self.wrong_fraction, per_problem_cap=self.per_problem_cap,
                               round_cap=self.round_cap, seed=self.seed)

    def label_mix(self) -> LabelMix:
        """What the round's PRM trains on."""
        return LabelMix(self.train_labels, self.label_weights or {}, self.soft_targets == "soft")

    def generation_filters(self) -> dict:
        """The problem filter of a round's generate stage."""
        return {"subject": self.subject, "level": self.level, "source": self.source, "fewer_than": self.fewer_than,
                "problem_cap": self.problem_cap}


def config_of(r: Round) -> RoundConfig:
    """The options round `r` runs with: every reader of a round's options reads them here, never Round.config
    by key (tests/test_round_config.py walks the code for such reads)."""
    return RoundConfig.stored(r.config)


def aggregation_of(r: Round, version: ModelVersion | None = None) -> str:
    """The round's aggregation: the one it names, else the best its version found on validation, else prod."""
    if named := config_of(r).aggregation:
        return named
    version = version or r.model_version
    found = ((version.metrics or {}).get("validation") or {}).get("aggregation") if version else None
    return found if found in AGGREGATIONS else "prod"


def parse_config(data: dict | None, project: int = DEFAULT_PROJECT_ID) -> RoundConfig:
    """Defaults filled in and every value checked for a round of `project` (the connections it may
    name are its own and the built-in ones); unknown keys are refused by name."""
    config = RoundConfig(**options.parse_options(data, OPTIONS, RoundConfigError))
    for name in CONNECTION_OPTIONS:
        try:
            connection.check_in_project(getattr(config, name), project)
        except ValueError as exc:
            raise RoundConfigError(name, str(exc)) from None
    try:
        config.selection()
    except ValueError as exc:
        raise RoundConfigError("strategy", str(exc)) from None
    try:
        config.label_mix()
    except ValueError as exc:
        raise RoundConfigError("label_weights" if config.train_labels == "sources" else "train_labels",
                               str(exc)) from None
    if config.strategy == "disagreement" and not config.auto_label_with:
        raise RoundConfigError("auto_label_with", "the disagreement strategy needs automatic labels: name a source")
    if config.generate_with:  # a connection that cannot work is refused before the round starts
        overrides = config.policy_overrides
        try:
            connection.resolve(config.generate_with, overrides, project=project)
        except OptionError as exc:
            field = f"policy_overrides.{exc.field}" if exc.field in overrides else "generate_with"
            raise RoundConfigError(field, exc.message) from None
    if config.auto_label_with in ("rollout", "first_error", "judge"):  # its key and host, checked now too
        try:
            connection.resolve(config.auto_label_connection, None, project=project)
        except OptionError as exc:
            raise RoundConfigError("auto_label_connection", f"{exc.field}: {exc.message}") from None
    return config
