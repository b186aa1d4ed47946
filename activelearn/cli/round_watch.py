"""Shared by start_round, resume_round and cancel_round: waiting on a round and printing its progress."""
import time

from django.core.management.base import CommandError

from activelearn.heartbeat import worker_status
from activelearn.models import Round
from activelearn.rounds.progress import round_detail
from labeling.models import RunStatus


def get_round(generation: int) -> Round:
    r = Round.objects.filter(generation=generation).first()
    if r is None:
        raise CommandError(f"there is no round of generation {generation}")
    return r


def warn_if_no_worker(cmd) -> None:
    status = worker_status()
    if not status["alive"]:
        last = status["last_seen"].isoformat(timespec="seconds") if status["last_seen"] else "never"
        cmd.stderr.write(f"No worker is alive (last seen: {last}): the round waits in the queue until one runs "
                         "(celery -A config worker).")


def _n(x) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def stage_line(d: dict) -> str:
    parts = []
    for s in d["stages"]:
        text = f"{s['name']} {s['status']}"
        if s["total"] is not None:
            text += f" {_n(s['done'] or 0)}/{_n(s['total'])}"
        if s["status"] in ("done", "failed") and s["seconds"] is not None:
            text += f" ({s['seconds']:.1f} s)"
        parts.append(text)
    return f"round {d['generation']} {d['status']}: " + ", ".join(parts)


def wait(cmd, r: Round, interval: float = 2.0) -> None:
    """Print the stages' progress whenever it changes until the round ends; CommandError
    (a non-zero exit) with the reason if it failed or was cancelled."""
    last = None
    while True:
        r.refresh_from_db()
        d = round_detail(r)
        line = stage_line(d)
        if line != last:
            cmd.stdout.write(line)
            last = line
        if not d["active"]:
            break
        time.sleep(interval)
    if r.status == RunStatus.SUCCEEDED:
        sel = d["selection"]
        cmd.stdout.write(cmd.style.SUCCESS(
            f"round {r.generation} succeeded: {sel['selected']} solutions selected ({sel['wrong_answer']} with a wrong "
            f"final answer), {r.counts.get('queued', d['stages'][-1]['result'].get('queued', 0))} queued for "
            f"labelling, model version {r.model_version_id}"))
        return
    if r.error:
        raise CommandError(f"round {r.generation} {r.status}: {r.error}")
    raise CommandError(f"round {r.generation} was {r.status} (resume it with `manage.py resume_round "
                       f"{r.generation}`)")
