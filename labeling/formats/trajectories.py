"""Agent trajectories: tool-call traces in the OpenAI chat-completions message shape, one JSON object a
line (AgentProcessBench's trace files as they are; docs/agent-trajectories.md).

A trace is `messages` (system / developer / user / assistant with `content` and/or `tool_calls` / tool
results), optional `tools`, a task (`question`, else the first user message), a reference
(`ground_truth`), the producer's outcome (`reward_info.reward`) and any other keys. It imports as a problem
(the task) and a solution whose steps are the assistant turns, one step a turn; every other message is
context, shown and never rated. The whole record is kept in the solution's `extra["trajectory"]` (exported
back unchanged) and `extra["step_messages"]` maps step k to its message index.

A record that also carries `step_labels` (`{"<message index>": -1|0|1}`) and `final_label` (this module's
export, or an AgentProcessBench label line joined to its trace) brings a person's pass: per-step ratings
and, in the pass's `extra["final_label"]`, the outcome rating of the whole trace.

Pure functions, no database.
"""
import uuid
from datetime import UTC, datetime

import orjson

from labeling.formats.errors import RecordError, json_type, json_value
from labeling.formats.items import AutoLabelsIn, ImportItem, PassIn, ProblemIn, SolutionIn
from labeling.formats.prm800k import format_timestamp, parse_timestamp
from labeling.storage import hashing

FORMAT = "trajectory"
LABELS_FORMAT = "trajectory-labels"
# A model's labels (AgentProcessBench's `llm_annotations`) go to one automatic run per model, never into passes.
RUN_PREFIX = "imported:agentprocessbench:"
RUN_VERSION = "agentprocessbench-file@1"
MAX_MODEL_CHARS = 100 - len(RUN_PREFIX)  # AutoLabelRun.key is 100 characters

# Limits beyond the reader's line limit (IMPORT_MAX_LINE_KB): what the page, the judge and a PRM can take.
MAX_MESSAGES = 2000
MAX_STEPS = 500
MAX_TOOL_CALLS = 64
MAX_FIELD_CHARS = 200_000  # one message's content, one tool call's arguments
MAX_NAME_CHARS = 200
# What a PRM reads before each assistant turn: the messages since the turn before, their most recent
# characters (a long search result keeps its end); the step token comes after the turn itself.
CONTEXT_CHARS = 1500
ROLES = ("system", "developer", "user", "assistant", "tool", "function")

# The keys of one person's (or model's) labels on a trace, AgentProcessBench's names and Stepwise's own
# (`labeler`: the annotator's UUID, so that a pass exported and imported again is the same pass).
LABEL_KEYS = ("record_id", "dataset", "annotator", "username", "labeler", "index_in_dataset", "step_labels",
              "final_label", "final_label_touched", "status", "comment", "updated_at", "explanations")
# Kept with a pass and written back on export (the rest are made from the pass itself).
PASS_KEPT_KEYS = ("dataset", "index_in_dataset", "final_label_touched", "status", "comment")
RATINGS = (-1, 0, 1)

# Labels without a time (`updated_at`) get this one, so the pass keeps one identity across imports.
UNDATED = datetime(2026, 1, 1, tzinfo=UTC)
ANNOTATOR_NAMESPACE = "stepwise:agentprocessbench:"


def annotator_uuid(name: str) -> uuid.UUID:
    """A labeller known only by name (AgentProcessBench's `annotator`): one UUID per name, everywhere."""
    return uuid.uuid5(uuid.NAMESPACE_URL, ANNOTATOR_NAMESPACE + name)


def is_trajectory(rec) -> bool:
    return isinstance(rec, dict) and isinstance(rec.get("messages"), list)


def is_label_line(rec) -> bool:
    """An AgentProcessBench label line: the labels of a trace named by `record_id`, without the trace."""
    return (isinstance(rec, dict) and "messages" not in rec and "step_labels" in rec
            and isinstance(rec.get("record_id"), str))


def _text_parts(content, field: str) -> str:
    """A message's `content` as text: a string, null, or a list of parts (`{"type": "text", "text": ...}`)."""
    if content is None:
        return ""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict):
                raise RecordError(f"{field}[{i}]", f"must be an object, got {json_type(part)}")
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "text":
                raise RecordError(f"{field}[{i}].text", f"must be a string, got {json_type(part.get('text'))}")
            else:  # an image or a file: named, never fetched
                texts.append(f"[{str(part.get('type') or 'part')[:40]}]")
        text = "\n".join(texts)
    else:
        raise RecordError(field, f"must be a string, null or a list of parts, got {json_type(content)}")
    if len(text) > MAX_FIELD_CHARS:
        raise RecordError(field, f"is longer than {MAX_FIELD_CHARS} characters ({len(text)})")
    return text


def _tool_calls(calls, field: str) -> list[tuple[str, str]]:
    """(name, arguments as text) of each call."""
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise RecordError(field, f"must be a list, got {json_type(calls)}")
    if len(calls) > MAX_TOOL_CALLS:
        raise RecordError(field, f"has {len(calls)} tool calls, more than {MAX_TOOL_CALLS}")
    out = []
    for i, call in enumerate(calls):
        where = f"{field}[{i}]"
        if not isinstance(call, dict):
            raise RecordError(where, f"must be an object, got {json_type(call)}")
        fn = call.get("function")
        if not isinstance(fn, dict):
            raise RecordError(f"{where}.function", f"must be an object, got {json_type(fn)}")
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise RecordError(f"{where}.function.name", f"must be a non-empty string, got {json_value(name)}")
        if len(name) > MAX_NAME_CHARS:
            raise RecordError(f"{where}.function.name", f"is longer than {MAX_NAME_CHARS} characters")
        args = fn.get("arguments", "")
        if isinstance(args, (dict, list)):
            args = orjson.dumps(args).decode()
        if not isinstance(args, str):
            raise RecordError(f"{where}.function.arguments", f"must be a string or an object, got {json_type(args)}")
        if len(args) > MAX_FIELD_CHARS:
            raise RecordError(f"{where}.function.arguments", f"is longer than {MAX_FIELD_CHARS} characters")
        out.append((name, args))
    return out


def message_text(m: dict) -> str:
    """A message's content as text; "" when it cannot be read (a trace already imported was checked)."""
    try:
        return _text_parts(m.get("content"), "")
    except RecordError:
        return ""


def message_calls(m: dict) -> list[tuple[str, str]]:
    """An assistant message's tool calls as (name, arguments as text); [] when none can be read."""
    try:
        return _tool_calls(m.get("tool_calls"), "")
    except RecordError:
        return []


def pretty_arguments(args: str) -> str:
    """A tool call's arguments as a person reads them: indented JSON, or the text as written."""
    try:
        return orjson.dumps(orjson.loads(args), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return args


def step_text(content: str, calls: list[tuple[str, str]]) -> str:
    """An assistant turn as one step's text (Markdown: what the PRM reads and the plain page shows)."""
    parts = [content.strip()] if content.strip() else []
    for name, args in calls:
        parts.append(f"**Tool call** `{name}`\n\n```json\n{pretty_arguments(args)}\n```")
    return "\n\n".join(parts) or "(an empty turn)"


def check_messages(messages) -> list[str]:
    """Validate `messages`; the steps' texts (one per assistant turn) in order. Errors name the field."""
    if not isinstance(messages, list):
        raise RecordError("messages", f"must be a list, got {json_type(messages)}")
    if len(messages) > MAX_MESSAGES:
        raise RecordError("messages", f"has {len(messages)} messages, more than {MAX_MESSAGES}")
    steps = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise RecordError(where, f"must be an object, got {json_type(m)}")
        role = m.get("role")
        if role not in ROLES:
            raise RecordError(f"{where}.role", f"must be one of {', '.join(ROLES)}, got {json_value(role)}")
        content = _text_parts(m.get("content"), f"{where}.content")
        if role == "assistant":
            steps.append(step_text(content, _tool_calls(m.get("tool_calls"), f"{where}.tool_calls")))
        elif m.get("tool_calls") is not None:
            raise RecordError(f"{where}.tool_calls", f"only assistant messages call tools (this one is {role})")
        name = m.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME_CHARS):
            raise RecordError(f"{where}.name", f"must be a string of at most {MAX_NAME_CHARS} characters")
    if not steps:
        raise RecordError("messages", "has no assistant turn: nothing to rate")
    if len(steps) > MAX_STEPS:
        raise RecordError("messages", f"has {len(steps)} assistant turns, more than {MAX_STEPS}")
    return steps


def step_messages(messages: list) -> list[int]:
    """The message index of each step (each assistant turn)."""
    return [i for i, m in enumerate(messages) if m.get("role") == "assistant"]


def step_contexts(messages: list, indexes: list[int], budget: int = CONTEXT_CHARS) -> list[str]:
    """Per step, the context a PRM reads before it: the messages since the previous assistant turn, each as
    `[role · name] text`, the most recent first to keep: within `budget` characters, an older message's text
    keeps its end and the messages before it are left out (marked `…`)."""
    out, start = [], 0
    for i in indexes:
        kept, left = [], budget
        for m in reversed(messages[start:i]):
            name = m.get("name") if isinstance(m.get("name"), str) else ""
            try:
                text = _text_parts(m.get("content"), "").strip()
            except RecordError:
                text = ""
            head = f"[{m.get('role')}{' · ' + name if name else ''}] "
            if len(head) + len(text) <= left:
                kept.append(head + text)
                left -= len(head) + len(text) + 1
                continue
            if left > len(head) + 1:
                kept.append(head + "…" + text[len(text) - (left - len(head) - 1):])
            if m is not messages[start]:
                kept.append("…")
            break
        out.append("\n".join(reversed(kept)))
        start = i + 1
    return out


def record_id(rec: dict) -> str:
    """The trace's id: AgentProcessBench's `<data_source>:<query_index>:<sample_index>`, else `record_id`,
    `id` or `task_id` as written; "" if none."""
    if all(k in rec for k in ("data_source", "query_index", "sample_index")):
        rid = f"{rec['data_source']}:{rec['query_index']}:{rec['sample_index']}"
    else:
        v = next((rec[k] for k in ("record_id", "id", "task_id") if isinstance(rec.get(k), (str, int))
                  and not isinstance(rec.get(k), bool)), "")
        rid = str(v)
    if len(rid) > 255:
        raise RecordError("record_id", "is longer than 255 characters")
    return rid


def _task_text(rec: dict, messages: list) -> str:
    q = rec.get("question")
    if isinstance(q, str) and q.strip():
        if len(q) > MAX_FIELD_CHARS:
            raise RecordError("question", f"is longer than {MAX_FIELD_CHARS} characters")
        return q
    if q is not None and not isinstance(q, str):
        raise RecordError("question", f"must be a string, got {json_type(q)}")
    for i, m in enumerate(messages):
        if m.get("role") == "user":
            text = _text_parts(m.get("content"), f"messages[{i}].content").strip()
            if text:
                return text
    raise RecordError("question", "is missing, and no user message says the task")


def accepted_answers(ground_truth) -> list[str]:
    """The reference answers a trace's `ground_truth` names: a string, a number, a list of them, or an object
    with `target` / `answer` / `answers` (HotpotQA's `{"target": [...]}`)."""
    gt = ground_truth
    if isinstance(gt, dict):
        gt = next((gt[k] for k in ("target", "answers", "answer") if k in gt), None)
    if isinstance(gt, (str, int, float)) and not isinstance(gt, bool):
        return [str(gt)]
    if isinstance(gt, list):
        return [str(x) for x in gt if isinstance(x, (str, int, float)) and not isinstance(x, bool)]
    return []


def _final_answer(rec: dict, messages: list) -> str | None:
    if isinstance(rec.get("answer_text"), str):
        return rec["answer_text"]
    last = messages[step_messages(messages)[-1]]
    text = _text_parts(last.get("content"), "").strip()
    start, end = text.rfind("<answer>"), text.rfind("</answer>")
    if 0 <= start < end:
        return text[start + len("<answer>"):end].strip()
    return text[-2000:] or None


def outcome(rec: dict) -> float | None:
    """The producer's grade of the trace (`reward_info.reward`), or None."""
    info = rec.get("reward_info")
    if info is None:
        return None
    if not isinstance(info, dict):
        raise RecordError("reward_info", f"must be an object, got {json_type(info)}")
    r = info.get("reward")
    if r is None:
        return None
    if isinstance(r, bool) or not isinstance(r, (int, float)):
        raise RecordError("reward_info.reward", f"must be a number, got {json_value(r)}")
    return float(r)


def _generator(rec: dict) -> str:
    meta = rec.get("meta")
    name = meta.get("llm_model") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) else rec.get("model")
    return name[:255] if isinstance(name, str) else ""


def trace_of(rec: dict) -> dict:
    """The trace itself: the record less any labels it carries (those are a pass's)."""
    if "step_labels" not in rec:
        return rec
    return {k: v for k, v in rec.items() if k not in LABEL_KEYS}


def parse_trace(rec) -> ImportItem:
    """One trace (with, if it carries `step_labels`, its labeller's pass)."""
    if not isinstance(rec, dict):
        raise RecordError("", f"record must be a JSON object, got {json_type(rec)}")
    messages = rec.get("messages")
    steps = check_messages(messages)
    trace = trace_of(rec)
    text = _task_text(rec, messages)
    answers = accepted_answers(rec.get("ground_truth"))
    reward = outcome(rec)
    rid = record_id(rec)
    task_id = f"{rec['data_source']}:{rec['query_index']}" if "data_source" in rec and "query_index" in rec else ""
    problem = ProblemIn(key=hashing.problem_hash(text), text=text, ground_truth_answer=answers[0] if answers else None,
                        source_id=task_id[:255])
    answer = _final_answer(rec, messages)
    # The conversation is the trace's identity: two samples with the same turns but other tool results differ.
    # Keys sorted: PostgreSQL's jsonb keeps objects in its own key order, and an exported trace must hash the same.
    key = hashing.solution_hash(problem.key, ["trajectory", orjson.dumps(messages, option=orjson.OPT_SORT_KEYS)
                                              .decode()], answer)
    solution = SolutionIn(key=key, problem_key=problem.key, steps=steps, final_answer=answer,
                          answer_is_correct=None if reward is None else (True if reward >= 1 else
                                                                         False if reward <= 0 else None),
                          generator=_generator(rec), source_id=rid,
                          extra={"trajectory": trace, "step_messages": step_messages(messages),
                                 "step_context": step_contexts(messages, step_messages(messages))})
    item = ImportItem(problem=problem, solution=solution)
    if "step_labels" in rec:
        add_labels(item, rec, steps, solution.extra["step_messages"], model="explanations" in rec)
    return item


def add_labels(item: ImportItem, rec: dict, texts: list[str], indexes: list[int], *, model: bool) -> None:
    """A label record's labels on the item's trace: a person's pass, or a model's automatic labels."""
    if not model:
        item.passes.append(label_pass(rec, item.problem.key, item.solution.key, texts, indexes))
        return
    name = rec.get("annotator") if isinstance(rec.get("annotator"), str) else rec.get("username")
    if not isinstance(name, str) or not name:
        raise RecordError("annotator", "is missing: which model labelled?")
    if len(name) > MAX_MODEL_CHARS:
        raise RecordError("annotator", f"is longer than {MAX_MODEL_CHARS} characters")
    ratings = step_ratings(rec.get("step_labels"), indexes, complete=rec.get("status", "done") == "done")
    detail = {"record_id": record_id(rec) or rec.get("record_id"), "final_label": final_label(rec),
              "step_messages": indexes}
    for key in ("explanations", "updated_at"):
        if rec.get(key) is not None:
            detail[key] = rec[key]
    item.auto_labels.append(AutoLabelsIn(run_key=RUN_PREFIX + name, labeller_version=RUN_VERSION, hard=ratings,
                                         detail=detail))


def step_ratings(labels, indexes: list[int], *, complete: bool, field: str = "step_labels") -> list[int | None]:
    """`{"<message index>": -1|0|1|null}` as a rating per step (None: not rated). Every key must be an assistant
    turn of the trace; `complete`: every assistant turn must be rated (a finished AgentProcessBench record)."""
    if not isinstance(labels, dict):
        raise RecordError(field, f"must be an object keyed by message index, got {json_type(labels)}")
    position = {str(i): k for k, i in enumerate(indexes)}
    ratings: list[int | None] = [None] * len(indexes)
    for key, v in labels.items():
        if key not in position:
            raise RecordError(f"{field}.{key[:40]}", "names no assistant turn of the trace (its assistant turns are "
                                                     f"messages {', '.join(map(str, indexes[:20]))}"
                                                     f"{', …' if len(indexes) > 20 else ''})")
        if v is not None and (isinstance(v, bool) or v not in RATINGS):
            raise RecordError(f"{field}.{key}", f"must be -1, 0, 1 or null, got {json_value(v)}")
        ratings[position[key]] = v
    missing = [str(indexes[k]) for k, r in enumerate(ratings) if r is None]
    if complete and missing:
        raise RecordError(field, f"rates no label for assistant turn(s) {', '.join(missing[:20])} of a finished "
                                 "record (labelled on another version of the trace?)")
    return ratings


def final_label(rec: dict) -> int | None:
    v = rec.get("final_label")
    if v is not None and (isinstance(v, bool) or v not in RATINGS):
        raise RecordError("final_label", f"must be -1, 0, 1 or null, got {json_value(v)}")
    return v


def _labeller(rec: dict) -> tuple[uuid.UUID, str]:
    name = rec.get("annotator") if isinstance(rec.get("annotator"), str) else rec.get("username")
    name = name if isinstance(name, str) else ""
    if "labeler" in rec:
        try:
            return uuid.UUID(str(rec["labeler"])), name
        except ValueError:
            raise RecordError("labeler", f"must be a UUID, got {json_value(rec['labeler'])}") from None
    if not name:
        raise RecordError("annotator", "is missing: whose labels are these?")
    if len(name) > 150:
        raise RecordError("annotator", "is longer than 150 characters")
    return annotator_uuid(name), name


def pass_steps(texts: list[str], ratings: list[int | None]) -> tuple[list[dict], str]:
    """A pass's PRM800K `label.steps` and finish reason from per-step ratings, every step rated or not (the
    every-step protocol: a -1 does not end the pass). A pass that leaves steps unrated and found no error
    gave up there."""
    last = max((k for k, r in enumerate(ratings) if r is not None), default=-1)
    steps = [{"completions": [{"text": texts[k], "rating": ratings[k], "flagged": None}], "human_completion": None,
              "chosen_completion": None if ratings[k] == -1 else 0} for k in range(last + 1)]
    if -1 in ratings:
        return steps, "found_error"
    return steps, "solution" if None not in ratings else "give_up"


def label_pass(rec: dict, problem_key: str, solution_key: str, texts: list[str], indexes: list[int]) -> PassIn:
    """The pass of a label record (`step_labels`, `final_label`, `annotator`, `updated_at`) on a trace."""
    complete = rec.get("status", "done") == "done"
    ratings = step_ratings(rec.get("step_labels"), indexes, complete=complete)
    labeller, name = _labeller(rec)
    when = parse_timestamp(rec["updated_at"], "updated_at") if rec.get("updated_at") is not None else UNDATED
    steps, finish = pass_steps(texts, ratings)
    extra = {"final_label": final_label(rec), "annotator_name": name,
             **{k: rec[k] for k in PASS_KEPT_KEYS if k in rec}}
    if isinstance(rec.get("explanations"), dict):
        extra["explanations"] = rec["explanations"]
    return PassIn(key=hashing.pass_identity(str(labeller), format_timestamp(when), problem_key, solution_key),
                  annotator_uuid=labeller, problem_key=problem_key, solution_key=solution_key, submitted_at=when,
                  steps=steps, finish_reason=finish, extra=extra)


def page_context(extra: dict) -> dict | None:
    """What the labelling page shows around the steps of a trace: per step the messages since the step before
    (`{role, name, text}`, tool calls already in the steps' texts), and the messages after the last step."""
    trace, indexes = extra.get("trajectory") or {}, extra.get("step_messages") or []
    messages = trace.get("messages") if isinstance(trace, dict) else None
    if not isinstance(messages, list) or not indexes:
        return None

    def shown(m) -> dict:
        name = m.get("name") if isinstance(m.get("name"), str) else ""
        try:
            text = _text_parts(m.get("content"), "")
        except RecordError:
            text = ""
        return {"role": str(m.get("role", "")), "name": name, "text": text}

    bounds = [-1, *indexes]
    before = [[shown(m) for m in messages[bounds[k] + 1:bounds[k + 1]]] for k in range(len(indexes))]
    return {"before": before, "after": [shown(m) for m in messages[indexes[-1] + 1:]],
            "step_messages": indexes, "tools": [t.get("function", {}).get("name", "") for t in trace.get("tools") or []
                                                if isinstance(t, dict) and isinstance(t.get("function"), dict)]}


def timestamp_text(dt: datetime) -> str:
    """`updated_at` as exported: ISO 8601 in UTC, microseconds kept (a pass's identity depends on it)."""
    return dt.astimezone(UTC).isoformat()
