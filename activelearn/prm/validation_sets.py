"""Which held-out data a new version is validated on, and the figures it gets there (the read side of
"validation on every version": activelearn/prm/validation.py computes the figures).

Split by problem: nothing of a problem the version trained on is used. In order of preference:

1. people's labels of the held-out problems (the training split's validation part), when there are at
   least MIN_SOLUTIONS such solutions and both classes are there;
2. otherwise, said so in `note`, the deployment's ProcessBench-shaped files (PRM_VALIDATION_FILES:
   `{problem, steps, label[, final_answer_correct]}`, `label` the first wrong step, -1 for none);
3. otherwise, on demo problems, the demo checker's labels (labeling/demo/checker.py, which labels every
   step from the text alone; for the demo agent's traces labeling/demo/agent.py, every assistant turn, read
   with its context as the PRM reads it) of solutions of problems not trained on, the round's fresh samples
   first;
4. otherwise the few people's labels there are (the note says they are too few), or nothing, and the note
   says why.

At most `cap` solutions are scored, spread over problems in turn, so validation costs a bounded time.
"""
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef

from activelearn.prm import metrics, validation
from activelearn.prm.backbone import CLASSES
from activelearn.prm.records import read_records
from activelearn.prm.trajectory_text import with_context
from labeling.demo import agent, checker
from labeling.demo import problems as demo_problems
from labeling.models import LabeledPass, Problem, Solution
from labeling.storage.hashing import problem_hash

MIN_SOLUTIONS = 20
CAP = 256  # solutions scored for validation: enough for its figures, a bounded cost in every training


@dataclass
class HeldOut:
    source: str
    steps: list = field(default_factory=list)  # (problem, steps, ratings)
    finals: list = field(default_factory=list)  # (problem, steps, right)
    problems: set = field(default_factory=set)
    classes: list = field(default_factory=list)  # per step row, the class index per step (people's labels)

    @property
    def solutions(self) -> int:
        return len({(p, tuple(s)) for p, s, _ in self.steps} | {(p, tuple(s)) for p, s, _ in self.finals})


def _human(kind: str, val_items: list, project: int, cap: int) -> HeldOut:
    held = HeldOut("human" if kind == "prm" else "graded")
    for it in val_items:
        if it.source != "human" and kind == "prm":
            continue
        ratings = [None if c is None else CLASSES[c] for c in it.labels]
        held.problems.add(it.group)
        if kind == "prm":
            held.steps.append((it.problem, list(it.steps), ratings))
            held.classes.append(list(it.labels))
        elif ratings and ratings[-1] is not None:
            held.finals.append((it.problem, list(it.steps), ratings[-1] == 1))
    if kind == "prm" and held.problems:  # the final answers of the people-labelled solutions held out
        labelled = Exists(LabeledPass.objects.filter(solution=OuterRef("pk")))  # no DISTINCT: steps is JSON
        rows = Solution.objects.filter(labelled, project_id=project, problem__content_hash__in=held.problems,
                                       answer_is_correct__isnull=False)
        held.finals = [(text, steps, ok) for text, steps, ok in rows.order_by("id").values_list(
            "problem__text", "steps", "answer_is_correct")[:cap]]
    return held


def _enough(held: HeldOut, kind: str) -> bool:
    if held.solutions < MIN_SOLUTIONS:
        return False
    if kind == "prm":
        ratings = [r for _, _, rs in held.steps for r in rs if r is not None]
        return -1 in ratings and any(r != -1 for r in ratings)
    return len({ok for _, _, ok in held.finals}) == 2


def _files(train_groups: set, cap: int) -> HeldOut | None:
    paths = getattr(settings, "PRM_VALIDATION_FILES", None) or []
    if not paths:
        return None
    held = HeldOut("files")
    for path in paths:
        for r in read_records(path):
            group = problem_hash(r["problem"])
            if group in train_groups or held.solutions >= cap:
                continue
            steps, label = list(r["steps"]), int(r["label"])
            ratings = [1] * len(steps) if label == -1 else [1] * label + [-1] + [None] * (len(steps) - label - 1)
            held.problems.add(group)
            held.steps.append((r["problem"], steps, ratings))
            if r.get("final_answer_correct") is not None:
                held.finals.append((r["problem"], steps, bool(r["final_answer_correct"])))
    return held if held.steps else None


def _round_robin(by_problem: dict, cap: int) -> list:
    out, queues = [], [list(v) for v in by_problem.values()]
    while len(out) < cap and any(queues):
        for q in queues:
            if q and len(out) < cap:
                out.append(q.pop(0))
    return out


def _checker(train_groups: set, project: int, prefer: list[int] | None, cap: int) -> HeldOut | None:
    problems = {p.pk: p for p in Problem.objects.filter(project_id=project, extra__has_key="demo")
                .exclude(content_hash__in=train_groups)}
    if not problems:
        return None
    qs = Solution.objects.filter(problem_id__in=list(problems))
    preferred = set(prefer or [])
    fields = ("id", "problem_id", "steps", "answer_is_correct", "extra__trajectory", "extra__step_context")
    rows = list(qs.filter(id__in=preferred).order_by("id").values_list(*fields)) if preferred else []
    if len(rows) < cap:
        rows += list(qs.exclude(id__in=preferred).order_by("id").values_list(*fields)[:cap * 4])
    by_problem = defaultdict(list)
    for row in rows:
        by_problem[row[1]].append(row)
    held = HeldOut("checker")
    known = {}
    for _, pid, steps, ok, trace, contexts in _round_robin(by_problem, cap):
        p = problems[pid]
        if pid not in known:
            family, spec = demo_problems.spec_of(p.extra["demo"])
            known[pid] = demo_problems.known_values(family, spec)
        # a trace: the agent checker's label of every turn, the turns read with their context
        ratings = agent.label_turns(trace, known[pid]) if trace else checker.check(list(steps), known[pid])
        steps = with_context(list(steps), contexts)
        held.problems.add(p.content_hash)
        held.steps.append((p.text, steps, ratings))
        if ok is not None:
            held.finals.append((p.text, steps, ok))
    return held if held.steps else None


def held_out(kind: str, train_items: list, val_items: list, project: int, prefer: list[int] | None = None,
             cap: int = CAP) -> tuple[HeldOut | None, dict]:
    """The held-out set a version is validated on, and what was tried before it (for the note)."""
    human = _human(kind, val_items, project, cap)
    tried = {"human_held_out_solutions": human.solutions, "needed": MIN_SOLUTIONS}
    if _enough(human, kind):
        return human, tried
    train_groups = {it.group for it in train_items}
    for other in (_files(train_groups, cap), _checker(train_groups, project, prefer, cap)):
        if other is not None:
            return other, tried
    return (human if human.solutions else None), tried  # too few, but all there is: figures with their sizes


NOTES = {
    "human": "people's labels of {problems} problems it did not train on",
    "graded": "graded final answers of {problems} problems it did not train on",
    "files": "the ProcessBench-shaped files of PRM_VALIDATION_FILES ({problems} problems it did not train on)",
    "checker": "the demo checker's labels of {solutions} solutions of {problems} problems it did not train on",
}


def validate(rm, kind: str, train_items: list, val_items: list, project: int, prefer: list[int] | None = None,
             cap: int = CAP, batch_size: int | None = None) -> dict:
    """The `validation` figures a version records (see the module's docstring)."""
    held, tried = held_out(kind, train_items, val_items, project, prefer, cap)
    few = tried["human_held_out_solutions"] < MIN_SOLUTIONS
    what = "people's labels" if kind == "prm" else "graded solutions"
    if held is None:
        return {"source": None, **tried, "note": f"not validated: {tried['human_held_out_solutions']} held-out "
                f"solutions with {what} (at least {MIN_SOLUTIONS} needed), no PRM_VALIDATION_FILES and no demo "
                "problems it did not train on"}
    inputs = {}
    for p, s, _ in held.steps + held.finals:
        inputs.setdefault((p, tuple(s)), None)
    keys = list(inputs)
    probs = rm.step_probs([(p, list(s)) for p, s in keys], batch_size) if keys else []
    index = {k: i for i, k in enumerate(keys)}
    scores = {k: [float(metrics.step_score(x)) for x in pr] for k, pr in zip(keys, probs, strict=True)}
    step_rows = [(scores[(p, tuple(s))], r) for p, s, r in held.steps]
    final_rows = [(scores[(p, tuple(s))], ok) for p, s, ok in held.finals]
    out = {"source": held.source, **tried, "problems": len(held.problems), "solutions": held.solutions,
           **validation.figures(step_rows, final_rows, kind)}
    if held.classes:  # people's labels are three classes: how often the most likely one is theirs
        pred, true = [], []
        for (p, s, _), classes in zip(held.steps, held.classes, strict=True):
            for k, c in enumerate(classes):
                row = probs[index[(p, tuple(s))]]
                if c is not None and k < len(row):
                    pred.append(int(row[k].argmax()))
                    true.append(c)
        out["token_accuracy"] = metrics.token_accuracy(pred, true)
    note = NOTES[held.source].format(problems=out["problems"], solutions=out["solutions"])
    out["note"] = (f"too few {what} held out ({tried['human_held_out_solutions']}, at least {MIN_SOLUTIONS} "
                   f"needed): validated on {note}" if few else f"validated on {note}")
    return out
