"""Simulated annotators: replaying human labels to measure what active learning buys.

Each strategy starts from the same random seed set of labelled solutions; every round it
picks K more from the unlabelled pool with `selection.select` (the function real rounds
use), "reveals" their existing human step labels (the oracle), retrains a reward model
from scratch (same seed) on everything revealed so far, and evaluates it on ProcessBench
(F1 at the threshold chosen on the first evaluation set, and step AUROC). No database:
everything is in memory.

Oracle records are ProcessBench-shaped: {id, problem, steps, final_answer_correct, label}.
As step labels: steps before `label` are +1, step `label` is -1, later steps unlabelled
(the paper's supervision stops at the first error); label -1 means every step is +1.
`final_answer_correct` plays the automatically graded final answer.

Grouping. The paper's "convincing" recipe is per problem (80% most convincing wrong-answer
solutions, 20% most convincing of the rest, among many samples of the same problem).
ProcessBench has about one solution per problem, so per-problem quotas are degenerate: with
group="problem" every problem contributes its single solution and the round cap keeps the
highest-scoring wrong answers, i.e. plain top-K convincing wrong answers. group="round"
(the default) puts the whole unlabelled pool in one group with per_problem = K, which keeps
the recipe's 80/20 mix at the level of the round.

Backbone. A micro BERT trained from scratch on the 784 pool solutions fits them (training
step AUROC 0.82) but scores held-out steps near chance (0.50-0.55), so the default is
the project's default backbone (all-MiniLM-L6-v2) cut to its first two of six layers:
pretrained, local, and cheap enough for both strategies to retrain from scratch every
round on a 2-core CPU.
"""
from __future__ import annotations

import csv
import json
import math
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from activelearn.prm import metrics
from activelearn.prm.backbone import CLASS_OF_RATING
from activelearn.prm.metrics import json_safe
from activelearn.prm.training import TrainConfig
from activelearn.selection.strategies import Candidate, SelectionConfig, disagreement, select, uncertainty

GROUPINGS = ("round", "problem")
SIM_STRATEGIES = ("convincing", "uniform", "uncertainty", "disagreement")
DEFAULT_STRATEGIES = ("convincing", "uniform")
SCORED = ("convincing", "uncertainty", "disagreement")  # strategies that need the PRM's scores of the pool
PRM_THRESHOLD = 0.5  # disagreement: a step scored below this is the PRM's first error (rounds' default too)
METRICS = ("f1", "step_auroc", "best_of_n")


@dataclass
class SimConfig:
    rounds: int = 6
    per_round: int = 50
    seed_labels: int | None = None  # None = per_round
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    group: str = "round"
    per_problem: int = 1  # group="problem": picks per problem (the paper: the top K of N samples of a problem)
    wrong_fraction: float = 0.8
    seed: int = 0
    holdout: float = 0.0  # fraction of the oracle's problems moved to an evaluation set
    # "default" (the project's default backbone, all-MiniLM-L6-v2), "micro" (a tiny BERT built here on
    # the oracle pool's text) or a backbone directory
    base: str = "default"
    layers: int | None = 2  # micro: its depth; a pretrained base: keep only its first `layers` layers (None: all)
    micro_hidden: int = 64
    micro_heads: int = 2
    micro_vocab: int = 2000
    threads: int | None = 1  # torch CPU threads (None: torch's default)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=3, learning_rate=1e-4, max_length=256))
    # disagreement: automatic labels of pool solutions, (problem, steps) -> [(first error, soft)] (auto_label_index)
    auto_labels: dict | None = None

    def __post_init__(self):
        if self.seed_labels is None:
            self.seed_labels = self.per_round
        for s in self.strategies:
            if s not in SIM_STRATEGIES:
                raise ValueError(f"strategy must be one of {', '.join(SIM_STRATEGIES)}, got {s!r}")
        if "disagreement" in self.strategies and not self.auto_labels:
            raise ValueError("the disagreement strategy needs automatic labels of the pool (--auto-labels)")
        if self.group not in GROUPINGS:
            raise ValueError(f"group must be one of {', '.join(GROUPINGS)}, got {self.group!r}")
        if self.rounds < 0 or self.per_round < 1 or self.seed_labels < 1 or self.per_problem < 1:
            raise ValueError("rounds must be >= 0, per_round, per_problem and seed_labels >= 1")
        if not 0 <= self.holdout < 1:
            raise ValueError("holdout must be in [0, 1)")

    def as_dict(self) -> dict:
        out = asdict(self)
        if self.auto_labels is not None:  # keyed by (problem, steps): what was given, not all of it
            out["auto_labels"] = {"solutions": len(self.auto_labels)}
        return out


# ---------------------------------------------------------------- data


def oracle_classes(record: dict) -> list[int | None]:
    """The human step labels of a ProcessBench record as class indices (None = unlabelled). A record
    with `ratings` (the demo checker's +1/0/-1 per step) keeps its neutral steps, up to the first error."""
    n, label = len(record["steps"]), record["label"]
    good, bad = CLASS_OF_RATING[1], CLASS_OF_RATING[-1]
    if record.get("ratings") and len(record["ratings"]) == n:
        upto = n if label == -1 else label + 1
        return [CLASS_OF_RATING[r] for r in record["ratings"][:upto]] + [None] * (n - upto)
    if label == -1:
        return [good] * n
    return [good] * label + [bad] + [None] * (n - label - 1)


def check_records(records: list[dict], source: str) -> None:
    for i, r in enumerate(records):
        missing = {"problem", "steps", "label", "final_answer_correct"} - r.keys()
        if missing:
            raise ValueError(f"{source}: record {i} lacks {', '.join(sorted(missing))}")
        if not r["steps"] or not -1 <= r["label"] < len(r["steps"]):
            raise ValueError(f"{source}: record {i} has label {r['label']} for {len(r['steps'])} steps")


def longer_step_baseline(records: list[dict], threshold_records: list[dict] | None = None) -> dict:
    """A model-free reference: step score = minus the step's length in characters."""
    def scores(recs):
        return [[-float(len(s)) for s in r["steps"]] for r in recs]

    labels = [r["label"] for r in records]
    chooser = threshold_records if threshold_records is not None else records
    threshold, _ = metrics.choose_threshold(scores(chooser), [r["label"] for r in chooser])
    m = metrics.evaluate_processbench(scores(records), labels, threshold)
    return {"f1": m["f1"], "step_auroc": metrics.step_auroc(scores(records), labels)}


# ---------------------------------------------------------------- models


def build_backbone(cfg: SimConfig, corpus: list[str], work_dir: Path) -> str:
    """The backbone directory every round starts from."""
    if cfg.base == "micro":
        from activelearn.prm.micro import build_micro_backbone

        return str(build_micro_backbone(work_dir / "micro", corpus, "bert", vocab_size=cfg.micro_vocab,
                                        hidden=cfg.micro_hidden, layers=cfg.layers or 2, heads=cfg.micro_heads,
                                        max_positions=max(512, cfg.train.max_length), seed=cfg.seed))
    from activelearn.prm import backbone

    path = backbone.default_base_model() if cfg.base == "default" else cfg.base
    return truncate_backbone(path, cfg.layers, work_dir / "truncated") if cfg.layers else path


_LAYER_LISTS = ("encoder.layer", "h", "layers", "transformer.h", "model.layers")


def truncate_backbone(path: str, layers: int, out_dir: Path) -> str:
    """A copy of a pretrained backbone keeping only its first `layers` transformer layers."""
    from transformers import AutoModel, AutoTokenizer

    from activelearn.prm import backbone

    backbone.configure_hub()
    model = AutoModel.from_pretrained(path)
    for dotted in _LAYER_LISTS:
        owner, *rest = [model, *dotted.split(".")]
        parent = owner
        for name in rest[:-1]:
            parent = getattr(parent, name, None)
        found = getattr(parent, rest[-1], None) if parent is not None else None
        if found is not None and hasattr(found, "__len__"):
            break
    else:
        raise ValueError(f"cannot find the layer list of {type(model).__name__} to keep {layers} layers")
    if layers >= len(found):
        return path
    setattr(parent, rest[-1], found[:layers])
    model.config.num_hidden_layers = layers
    if hasattr(model.config, "layer_types") and model.config.layer_types:
        model.config.layer_types = model.config.layer_types[:layers]
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(path).save_pretrained(out_dir)
    return str(out_dir)


def outcome_classes(record: dict) -> list[int | None]:
    """An outcome reward model's labels: only the last step, right or wrong by the final answer."""
    last = CLASS_OF_RATING[1 if record["final_answer_correct"] else -1]
    return [None] * (len(record["steps"]) - 1) + [last]


def train_fresh(base: str, records: list[dict], cfg: SimConfig, work_dir: Path,
                classes_of: Callable[[dict], list] = oracle_classes):
    """A new reward model trained from the backbone (same seed every time) on these records
    (step labels by `classes_of`: the oracle's process labels, or `outcome_classes`)."""
    from activelearn.prm import backbone
    from activelearn.prm.reward_model import RewardModel
    from activelearn.prm.training import train

    tok = backbone.load_tokenizer(base)
    rm = RewardModel(backbone.load_model(base, tok, new_head=True, seed=cfg.seed), tok, cfg.train.max_length)
    rows = rm.encode([(r["problem"], r["steps"]) for r in records], [classes_of(r) for r in records])
    history = train(rm, rows, [], work_dir, cfg.train, progress=lambda logs: None)
    return rm, history


@contextmanager
def quiet_transformers():
    """No per-round load reports ("newly initialized" head) or progress bars."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def evaluate(rm, eval_sets: dict[str, list[dict]]) -> dict:
    """Per set: ProcessBench F1 (threshold chosen on the first set) and step AUROC; and, where a set
    has several samples per problem, best-of-N accuracy of the PRM's pick among all of them."""
    scored = {name: rm.score([(r["problem"], r["steps"]) for r in recs]) for name, recs in eval_sets.items()}
    steps = {name: [s for _, s in sc] for name, sc in scored.items()}
    first = next(iter(eval_sets))
    threshold, _ = metrics.choose_threshold(steps[first], [r["label"] for r in eval_sets[first]])
    out = {}
    for name, recs in eval_sets.items():
        labels = [r["label"] for r in recs]
        m = metrics.evaluate_processbench(steps[name], labels, threshold)
        out[name] = {"f1": m["f1"], "acc_error": m["acc_error"], "acc_correct": m["acc_correct"],
                     "threshold": threshold, "step_auroc": metrics.step_auroc(steps[name], labels),
                     "best_of_n": best_of_all(recs, [s for s, _ in scored[name]])}
    return out


def best_of_all(records: list[dict], scores: list[float]) -> float:
    """The share of problems whose highest-scored sample has the right final answer (NaN with one
    sample per problem, where there is nothing to choose)."""
    best: dict[str, tuple[float, bool]] = {}
    for r, score in zip(records, scores, strict=True):
        key = r.get("unique_id") or r["problem"]
        if key not in best or score > best[key][0]:
            best[key] = (score, bool(r["final_answer_correct"]))
    if len(best) == len(records):
        return math.nan
    return sum(ok for _, ok in best.values()) / len(best)


# ---------------------------------------------------------------- the loop


def auto_label_index(rows) -> dict:
    """Automatic labels by (problem, steps), from step-label rows (export_step_labels: `first_error`,
    `soft`) or ProcessBench records (`label`); a row without a first error is left out."""
    index: dict = {}
    for row in rows:
        fe = row.get("first_error", row.get("label"))
        if isinstance(fe, int) and not isinstance(fe, bool):
            index.setdefault((row["problem"], tuple(row["steps"])), []).append((fe, row.get("soft")))
    return index


def candidates(pool: list[dict], ids: list[int], scores: dict[int, tuple] | None, group: str,
               auto_labels: dict | None = None) -> list[Candidate]:
    """`scores`: id -> (solution score, step scores), from the PRM of the round."""
    out = []
    for i in ids:
        score, steps = scores[i] if scores is not None else (None, None)
        labels = (auto_labels or {}).get((pool[i]["problem"], tuple(pool[i]["steps"])), [])
        prm_fe = next((k for k, p in enumerate(steps or []) if p < PRM_THRESHOLD), -1)
        out.append(Candidate(i, 0 if group == "round" else pool[i]["_problem_id"], score,
                             bool(pool[i]["final_answer_correct"]),
                             disagreement(prm_fe, score, labels) if steps is not None else None,
                             uncertainty(steps) if steps is not None else None))
    return out


def selection_config(strategy: str, cfg: SimConfig, round_no: int) -> SelectionConfig:
    if strategy == "uniform":
        return SelectionConfig("uniform", round_cap=cfg.per_round, seed=cfg.seed * 1000 + round_no)
    if strategy in ("uncertainty", "disagreement"):
        return SelectionConfig(strategy, round_cap=cfg.per_round, seed=cfg.seed)
    per_problem = cfg.per_round if cfg.group == "round" else cfg.per_problem
    return SelectionConfig("convincing", per_problem=per_problem, wrong_fraction=cfg.wrong_fraction,
                           round_cap=cfg.per_round, seed=cfg.seed)


def _point(strategy, round_no, revealed, picks, pool, evaluation, timings, picked_scores=None) -> dict:
    classes = [c for i in revealed for c in oracle_classes(pool[i]) if c is not None]
    return {"strategy": strategy, "round": round_no, "labels": len(revealed), "new": len(picks),
            "step_labels": len(classes), "negative_steps": classes.count(CLASS_OF_RATING[-1]),
            "new_wrong_answers": sum(not pool[i]["final_answer_correct"] for i in picks),
            "new_with_error": sum(pool[i]["label"] != -1 for i in picks), "eval": evaluation, **timings,
            "picks": list(picks), "new_ids": [pool[i].get("id", i) for i in picks], "picked_scores": picked_scores}


def run_strategy(strategy: str, pool: list[dict], seed_ids: list[int], seed_point: dict, seed_model, base: str,
                 eval_sets: dict, cfg: SimConfig, work_dir: Path, log: Callable[[str], None]) -> list[dict]:
    revealed = list(seed_ids)
    curve = [{**seed_point, "strategy": strategy}]
    rm = seed_model
    for round_no in range(1, cfg.rounds + 1):
        unlabelled = sorted(set(range(len(pool))) - set(revealed))
        if not unlabelled:
            log(f"{strategy}: pool exhausted after round {round_no - 1}")
            break
        t0 = time.perf_counter()
        scores = None
        if strategy in SCORED:
            scored = rm.score([(pool[i]["problem"], pool[i]["steps"]) for i in unlabelled])
            scores = dict(zip(unlabelled, scored, strict=True))
        cands = candidates(pool, unlabelled, scores, cfg.group, cfg.auto_labels)
        picks = select(cands, selection_config(strategy, cfg, round_no))
        new = [p.candidate.solution_id for p in picks]
        assert not set(new) & set(revealed), "a label was revealed twice"
        revealed += new
        t1 = time.perf_counter()
        rm, _ = train_fresh(base, [pool[i] for i in revealed], cfg, work_dir / f"{strategy}-{round_no}")
        t2 = time.perf_counter()
        evaluation = evaluate(rm, eval_sets)
        t3 = time.perf_counter()
        point = _point(strategy, round_no, revealed, new, pool, evaluation,
                       {"select_s": t1 - t0, "train_s": t2 - t1, "eval_s": t3 - t2},
                       None if scores is None else {"picked": [(p.candidate.solution_id, p.bucket, p.candidate.score)
                                                               for p in picks],
                                                    "all": {i: s for i, (s, _) in scores.items()},
                                                    "uncertainty": {c.solution_id: c.uncertainty for c in cands},
                                                    "disagreement": {c.solution_id: c.disagreement for c in cands}})
        curve.append(point)
        log(_describe(point))
    return curve


def _describe(p: dict) -> str:
    first = next(iter(p["eval"].values()))
    return (f"{p['strategy']:>10} round {p['round']}: {p['labels']} labels ({p['new_wrong_answers']}/{p['new']} new "
            f"with a wrong answer), F1 {first['f1']:.3f}, step AUROC {first['step_auroc']:.3f} "
            f"(train {p['train_s']:.0f} s, eval {p['eval_s']:.0f} s)")


def simulate(oracle: list[dict], eval_sets: dict[str, list[dict]], cfg: SimConfig,
             log: Callable[[str], None] = print, work_dir: str | Path | None = None) -> dict:
    """Run every strategy of `cfg` on the same budget; returns the curves and the data-efficiency ratios."""
    import torch

    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _simulate(oracle, eval_sets, cfg, log, work_dir)
    finally:
        torch.set_num_threads(threads)


def _simulate(oracle, eval_sets, cfg, log, work_dir) -> dict:
    from activelearn.prm.training_data import is_validation

    started = time.perf_counter()
    check_records(oracle, "oracle")
    pool, held = [], []
    for r in oracle:
        # split by problem text as train_prm does; seed 0 whatever --seed, so every seed is judged on the same set
        (held if cfg.holdout and is_validation(r["problem"], cfg.holdout, 0) else pool).append(r)
    eval_sets = dict(eval_sets)
    if held:
        eval_sets["holdout"] = held
    if not eval_sets:
        raise ValueError("no evaluation set: give --eval files or --holdout")
    for name, recs in eval_sets.items():
        check_records(recs, name)
    problem_ids: dict[str, int] = {}
    pool = [{**r, "_problem_id": problem_ids.setdefault(r["problem"], len(problem_ids))} for r in pool]
    needed = cfg.seed_labels + cfg.rounds * cfg.per_round
    if needed > len(pool):
        raise ValueError(f"{needed} labels needed ({cfg.seed_labels} seed + {cfg.rounds} x {cfg.per_round}), "
                         f"the pool has {len(pool)}")
    with tempfile.TemporaryDirectory(prefix="stepwise-sim-") as tmp, quiet_transformers():
        work = Path(work_dir or tmp)
        t0 = time.perf_counter()
        base = build_backbone(cfg, [t for r in pool for t in (r["problem"], *r["steps"])], work)
        backbone_s = time.perf_counter() - t0
        seed_picks = select(candidates(pool, list(range(len(pool))), None, "problem"),
                            SelectionConfig("uniform", round_cap=cfg.seed_labels, seed=cfg.seed * 1000))
        seed_ids = [p.candidate.solution_id for p in seed_picks]
        t1 = time.perf_counter()
        seed_model, _ = train_fresh(base, [pool[i] for i in seed_ids], cfg, work / "seed")
        t2 = time.perf_counter()
        seed_eval = evaluate(seed_model, eval_sets)
        t3 = time.perf_counter()
        seed_point = _point("seed", 0, seed_ids, seed_ids, pool, seed_eval,
                            {"select_s": 0.0, "train_s": t2 - t1, "eval_s": t3 - t2})
        log(_describe(seed_point))
        curves, strategy_s = {}, {}
        for strategy in cfg.strategies:
            s0 = time.perf_counter()
            curves[strategy] = run_strategy(strategy, pool, seed_ids, seed_point, seed_model, base, eval_sets, cfg,
                                            work, log)
            strategy_s[strategy] = time.perf_counter() - s0
    primary = next(iter(eval_sets))
    first_eval = eval_sets[primary]
    result = {
        "config": cfg.as_dict(), "pool": len(pool), "eval_sets": {k: len(v) for k, v in eval_sets.items()},
        "primary_eval": primary, "curves": curves,
        "baselines": {name: longer_step_baseline(recs, first_eval) for name, recs in eval_sets.items()},
        "timings": {"total_s": time.perf_counter() - started, "backbone_s": backbone_s,
                    "seed_round_s": t3 - t1, "strategies_s": strategy_s},
    }
    if "convincing" in curves and "uniform" in curves:
        # per labelled solution (the paper's axis) and per step label (what a person rates: a convincing
        # wrong answer is labelled up to its first error, so it costs fewer step labels than a right one)
        for key, x in (("efficiency", "labels"), ("efficiency_per_step_label", "step_labels")):
            result[key] = {
                name: {m: data_efficiency([(p[x], p["eval"][name][m]) for p in curves["convincing"]],
                                          [(p[x], p["eval"][name][m]) for p in curves["uniform"]])
                       for m in METRICS if not math.isnan(curves["convincing"][-1]["eval"][name][m])}
                for name in eval_sets}
    return result


# ---------------------------------------------------------------- data efficiency


def labels_to_reach(curve: list[tuple[int, float]], target: float) -> float | None:
    """Labels at which the curve first reaches `target` (linear interpolation); None if it never does."""
    prev = None
    for n, score in curve:
        if not math.isnan(score) and score >= target:
            if prev is None or score == prev[1]:
                return float(n)
            n0, s0 = prev
            return n0 + (target - s0) * (n - n0) / (score - s0)
        if not math.isnan(score):
            prev = (n, score)
    return None


def data_efficiency(convincing: list[tuple[int, float]], uniform: list[tuple[int, float]]) -> dict:
    """Labels uniform needs to reach convincing's final score, over the labels convincing used.

    If uniform never gets there, `ratio` is a lower bound (uniform's last label count over
    convincing's) and `lower_bound` is true.
    """
    conv_labels, target = convincing[-1]
    reached = labels_to_reach(uniform, target)
    lower_bound = reached is None
    uniform_labels = float(uniform[-1][0]) if lower_bound else reached
    # the other way round, inside the budget: what uniform reached at the end, and when convincing got there
    u_labels, u_target = uniform[-1]
    conv_reach = labels_to_reach(convincing, u_target)
    return {"target": target, "convincing_labels": conv_labels, "uniform_labels": uniform_labels,
            "lower_bound": lower_bound, "ratio": uniform_labels / conv_labels,
            "uniform_final": u_target, "convincing_labels_to_uniform_final": conv_reach,
            "ratio_at_uniform_final": u_labels / conv_reach if conv_reach else None}


def format_ratio(e: dict) -> str:
    return f"{'>' if e['lower_bound'] else ''}{e['ratio']:.2f}x"


# ---------------------------------------------------------------- outputs


def csv_rows(result: dict) -> list[dict]:
    rows = []
    for strategy, curve in result["curves"].items():
        for p in curve:
            row = {k: p[k] for k in ("round", "labels", "new", "new_wrong_answers", "new_with_error", "step_labels",
                                     "negative_steps")}
            row = {"strategy": strategy, **row}
            for name, m in p["eval"].items():
                for key in ("f1", "acc_error", "acc_correct", "step_auroc", "best_of_n", "threshold"):
                    row[f"{name}_{key}"] = round(m[key], 4)
            row.update({k: round(p[k], 1) for k in ("select_s", "train_s", "eval_s")})
            rows.append(row)
    return rows


def write_csv(result: dict, path: str | Path) -> None:
    rows = csv_rows(result)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_json(result: dict, path: str | Path) -> None:
    slim = {**result, "curves": {s: [{k: v for k, v in p.items() if k not in ("picks", "picked_scores")}
                                     for p in curve] for s, curve in result["curves"].items()}}
    Path(path).write_text(json.dumps(json_safe(slim), indent=1, default=str) + "\n")


def plot(result: dict, path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["eval_sets"])
    last = next(iter(result["curves"].values()))[-1]["eval"]
    shown = [m for m in METRICS if any(not math.isnan(last[n].get(m, math.nan)) for n in names)]
    fig, grid = plt.subplots(len(names), len(shown), figsize=(5 * len(shown), 3.6 * len(names)), squeeze=False)
    styles = {"convincing": ("tab:red", "o", "convincing wrong answers (80/20)"),
              "uniform": ("tab:blue", "s", "uniform")}
    for name, axes in zip(names, grid, strict=True):
        titles = {"f1": "ProcessBench F1", "step_auroc": "step AUROC", "best_of_n": "best-of-N accuracy"}
        for ax, m in zip(axes, shown, strict=True):
            title = titles[m]
            for strategy, curve in result["curves"].items():
                color, marker, label = styles.get(strategy, ("black", "x", strategy))
                ax.plot([p["labels"] for p in curve], [p["eval"][name][m] for p in curve], marker=marker,
                        color=color, label=label)
            base = result["baselines"].get(name, {}).get(m)
            if base is not None and not math.isnan(base):
                ax.axhline(base, color="grey", linestyle="--", linewidth=1, label="longer step = worse (no model)")
            ax.set_xlabel("labelled solutions")
            ax.set_title(f"{title} on {name} ({result['eval_sets'][name]})", fontsize=10)
            ax.grid(alpha=0.3)
    grid[0][0].legend(fontsize=8)
    name = result["primary_eval"]
    eff = result.get("efficiency", {}).get(name, {}).get("f1")
    if eff:
        fig.suptitle(f"Simulated annotators: uniform needs {format_ratio(eff)} the labels to reach convincing's "
                     f"final F1 (paper: about 2.6x)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
