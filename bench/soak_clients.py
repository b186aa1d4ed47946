"""Simulated annotators for bench/soak.py: client processes of threads, one per annotator, that
log every request (wall-clock start, kind, milliseconds, status; 0 = no HTTP answer) and keep
retrying a submit with its client id until the server acknowledges it, as the labelling page does."""
from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
import uuid

from annotators import SimulatedAnnotator, plan_ratings

SUBMIT_RETRIES = 60  # ~1 minute of retrying: longer than any fault the soak injects


class SoakAnnotator(SimulatedAnnotator):
    def __init__(self, username: str, cfg: dict, shared: dict, late: bool):
        super().__init__(username, cfg, shared)
        self.late = late  # holds each task past its lease before submitting
        self.events: list[tuple[float, str, float, int]] = []
        self.acked: list[str] = []
        self.replay_mismatch: list[str] = []
        self.gave_up: list[str] = []  # submits never acknowledged (client ids)
        self.late_acked = 0

    def send(self, kind: str, path: str, payload: dict) -> tuple[int, dict | None]:
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.http.cookies.get("csrftoken", "")}
        started_wall, started = time.time(), time.perf_counter()
        try:
            status, data = self.http.request("POST", path, json.dumps(payload).encode(), headers)
        except (OSError, http.client.HTTPException) as exc:
            self.events.append((started_wall, kind, (time.perf_counter() - started) * 1000, 0))
            self._note_error(f"{kind}: {exc!r}")
            return 0, None
        self.events.append((started_wall, kind, (time.perf_counter() - started) * 1000, status))
        return status, self.parsed(kind, status, data)

    def submit(self, path: str, body: dict, kind: str) -> dict | None:
        """Retry on no answer or a 5xx (the same client id makes that safe); a 4xx is final."""
        for attempt in range(SUBMIT_RETRIES):
            status, ack = self.send(kind if attempt == 0 else "retry", path, body)
            if ack is not None:
                return ack
            if 400 <= status < 500:
                return None
            time.sleep(1.0)
        return None

    def run(self) -> None:
        shared, cfg = self.shared, self.cfg
        think = cfg["think_ms"] / 1000
        while not shared["stop"].is_set():
            status, task = self.send("next", "/api/tasks/next/", {})
            lease = (task or {}).get("lease")
            if lease is None:
                time.sleep(1.0 if task else 0.2)  # waiting, all done, or an error: do not spin
                continue
            ratings, finish = plan_ratings(self.rng, len(lease.get("steps") or []))
            base = f"/api/tasks/{lease['id']}"
            time.sleep(self.rng.uniform(0.5, 1.5) * think / 2)
            self.send("draft", f"{base}/draft/", {"ratings": ratings[:max(1, len(ratings) // 2)],
                                                  "active_ms": self.rng.randint(1_000, 60_000)})
            if self.late:
                shared["stop"].wait(cfg["late_hold_s"])  # past the lease: the slot may be someone else's now
            else:
                time.sleep(self.rng.uniform(0.5, 1.5) * think / 2)
            body = {"client_id": str(uuid.uuid4()), "ratings": ratings, "finish_reason": finish,
                    "total_time": self.rng.randint(5_000, 600_000), "reason_text": ""}
            ack = self.submit(f"{base}/submit/", body, "late_submit" if self.late else "submit")
            if ack is None:
                self.gave_up.append(body["client_id"])
                continue
            self.acked.append(ack["receipt"])
            self.late_acked += self.late
            if self.rng.random() < cfg["replay"]:  # a double click or a resent request
                again = self.submit(f"{base}/submit/", body, "replay")
                if again is None or again.get("receipt") != ack["receipt"] or again.get("duplicate") is not True:
                    self.replay_mismatch.append(f"{body['client_id']}: {again!r}"[:200])
        self.http.close()


def client_main(cfg: dict, usernames: list[str], late: set[str], ready_q, start_ev, stop_ev, result_q) -> None:
    sys.setswitchinterval(0.0005)
    shared = {"stop": stop_ev, "lock": threading.Lock(), "deadline": float("inf"), "measure_from": 0.0}
    annotators = [SoakAnnotator(u, cfg, shared, u in late) for u in usernames]
    logged = [a.login() for a in annotators]
    ready_q.put({"logged_in": sum(logged), "errors": [e for a in annotators for e in a.errors][:5]})
    if not start_ev.wait(timeout=600) or not all(logged):
        result_q.put({"aborted": True})
        return
    for a in annotators:
        a.errors.clear()
        a.rng = random.Random(f"{cfg['seed']}:{a.username}")
    threads = [threading.Thread(target=a.run, daemon=True) for a in annotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SUBMIT_RETRIES * 2 + 120)
    result_q.put({
        "events": [e for a in annotators for e in a.events],
        "acked": [r for a in annotators for r in a.acked],
        "gave_up": [c for a in annotators for c in a.gave_up],
        "replay_mismatch": [m for a in annotators for m in a.replay_mismatch][:20],
        "late_acked": sum(a.late_acked for a in annotators),
        "reconnects": sum(a.http.reconnects for a in annotators),
        "errors": [e for a in annotators for e in a.errors][:20],
    })
