"""The flat "stepwise-critic" shape of PRM800K (Birchlabs' denormalised datasets on the hub, read by
OpenRLHF): one row per rated step candidate, `{instruction, responses, next_response, rating,
is_human_response, is_preferred_response, is_solution, answer, error_reason}`: the problem, the
steps chosen before, the candidate, its rating.

The rows of one labelling pass follow each other in the file, step by step, so passes are rebuilt
from runs of consecutive rows (a run ends where the problem changes or where a row's earlier steps
are not the steps chosen so far). Each becomes a PRM800K phase-1 record: per step, the model's
candidates with their ratings (`completions`), the labeller's own step when one was written
(`human_completion`), and which candidate continued (`chosen_completion`), as phase 1 keeps them.
The flat rows carry neither the labeller nor the time: every pass is by one external labeller,
with a timestamp made from its content (the same pass always has the same one, so a re-import
changes nothing).
"""
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings

from labeling.formats import limits
from labeling.formats.errors import LocatedError, RecordError, json_type

LABELLER = uuid.uuid5(uuid.NAMESPACE_URL, "stepwise:prm800k-phase1-stepwise-critic")
EPOCH = datetime(2023, 5, 31)  # PRM800K's release
KEYS = ("instruction", "responses", "next_response", "rating")


def _check(row) -> dict:
    if not isinstance(row, dict):
        raise RecordError("", f"row must be an object, got {json_type(row)}")
    for key in KEYS:
        if key not in row:
            raise RecordError(key, "is missing")
    if not isinstance(row["instruction"], str) or not isinstance(row["next_response"], str):
        raise RecordError("instruction" if not isinstance(row["instruction"], str) else "next_response",
                          "must be a string")
    if not isinstance(row["responses"], list) or not all(isinstance(r, str) for r in row["responses"]):
        raise RecordError("responses", "must be a list of strings")
    rating = row["rating"]
    if rating is not None and (isinstance(rating, bool) or rating not in (-1, 0, 1)):
        raise RecordError("rating", f"must be -1, 0, 1 or null, got {rating!r}")
    for key in ("is_human_response", "is_preferred_response", "is_solution"):
        if row.get(key) is not None and not isinstance(row[key], bool):
            raise RecordError(key, f"must be true, false or null, got {json_type(row[key])}")
    return row


def _step(rows: list[dict], chosen_text: str | None) -> dict:
    completions, human, chosen = [], None, None
    for row in rows:
        rating = None if row["rating"] is None else int(row["rating"])
        if row.get("is_human_response"):
            human = {"text": row["next_response"], "rating": None, "source": "human", "flagged": None}
            continue
        if chosen is None and chosen_text is not None and row["next_response"] == chosen_text and \
                row.get("is_preferred_response"):
            chosen = len(completions)
        completions.append({"text": row["next_response"], "rating": rating, "flagged": None,
                            **({"error_reason": row["error_reason"]} if row.get("error_reason") else {})})
    if human is not None and chosen_text == human["text"]:
        chosen = None  # the labeller's own step continued
    return {"completions": completions, "human_completion": human, "chosen_completion": chosen}


def _record(rows: list[dict], seen: dict) -> dict:
    """A phase-1 PRM800K record from one pass's rows. `seen` counts passes met so far by content:
    a pass repeated verbatim in the file (36 problems of phase 1 train have one) stays a pass of
    its own, as the flat rows cannot tell a copy from a second labeller who did the same."""
    by_step: dict[int, list[dict]] = {}
    for row in rows:
        by_step.setdefault(len(row["responses"]), []).append(row)
    longest = max(len(r["responses"]) for r in rows)
    chain = rows[[len(r["responses"]) for r in rows].index(longest)]["responses"]
    steps, finish = [], "give_up"
    for k in sorted(by_step):
        chosen_text = chain[k] if k < len(chain) else None
        if chosen_text is None:  # the last step: the preferred candidate, if any, ends the pass
            pref = next((r for r in by_step[k] if r.get("is_preferred_response") or r.get("is_human_response")), None)
            chosen_text = pref["next_response"] if pref else None
            if pref is not None and pref.get("is_solution"):
                finish = "solution"
            elif pref is None and all(r["rating"] == -1 for r in by_step[k]):
                finish = "found_error"
        steps.append(_step(by_step[k], chosen_text))
    content = hashlib.sha256(repr([(r["instruction"], r["responses"], r["next_response"], r["rating"])
                                   for r in rows]).encode()).hexdigest()
    repeat = seen[content] = seen.get(content, -1) + 1
    digest = hashlib.sha256((content + (f"#{repeat}" if repeat else "")).encode())
    stamp = EPOCH + timedelta(microseconds=int.from_bytes(digest.digest()[:6], "big") % (365 * 86_400_000_000))
    extra = {"source_format": "stepwise-critic", **({"answer": rows[-1]["answer"]} if rows[-1].get("answer") else {}),
             **({"repeats_earlier_pass": repeat} if repeat else {})}
    return {"labeler": str(LABELLER), "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.%f"), "generation": None,
            "is_quality_control_question": False, "is_initial_screening_question": False,
            "question": {"problem": rows[0]["instruction"], "ground_truth_answer": None},
            "label": {"steps": steps, "total_time": None, "finish_reason": finish}, "stepwise_critic": extra}


# A pass's rows are held until the pass ends, and each repeats the steps before it: what they hold together is
# bounded (a file of one endless pass would otherwise fill the memory), at this many times a record's limit.
PASS_RECORDS = 16


def passes(rows: Iterable[tuple[str, object]]) -> Iterator[tuple[str, dict]]:
    """(where, phase-1 record) for each pass; `where` names the pass's first row."""
    current: list[dict] = []
    first = chosen = None
    seen: dict[str, int] = {}
    held, most = 0, PASS_RECORDS * settings.IMPORT_MAX_LINE_KB * 1024
    for where, row in rows:
        try:
            row = _check(row)
        except RecordError as exc:
            raise LocatedError(where, exc) from None
        pref = list(row["responses"])
        same = current and row["instruction"] == current[0]["instruction"] and len(pref) >= len(current[-1][
            "responses"]) and pref[:len(chosen)] == chosen[:len(pref)] and len(pref) <= len(chosen)
        if current and not same:
            yield first, _record(current, seen)
            current = []
        if not current:
            first, chosen, held = where, [], 0
        current.append(row)
        held += len(row["next_response"]) + sum(map(len, row["responses"])) + 64
        if held > most or len(chosen) > limits.max_steps():
            raise LocatedError(first, RecordError("", f"the pass beginning here runs on past {where}: its rows hold "
                                                      f"more than {PASS_RECORDS} times the limit of a record "
                                                      f"({settings.IMPORT_MAX_LINE_KB} KB, IMPORT_MAX_LINE_KB) or "
                                                      f"more than {limits.max_steps()} steps (MAX_SOLUTION_STEPS)"))
        if (row.get("is_preferred_response") or row.get("is_human_response")) and len(chosen) == len(pref):
            chosen.append(row["next_response"])
    if current:
        yield first, _record(current, seen)
