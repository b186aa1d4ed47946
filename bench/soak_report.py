"""What bench/soak.py checks and prints: the database against what clients were told, 5xx and
dropped connections with the fault they fell in, and latency before, during and after each fault."""
from __future__ import annotations

from collections import Counter

from annotators import CHECK_SQL, summary_ms

KINDS = ("next", "draft", "submit")  # latency rows; late submits wait on purpose, retries are counted apart


def _fault_at(t: float, faults: list[dict]) -> str:
    for f in faults:
        if f["start"] <= t <= f["end"]:
            return f["name"]
    return "-"


def claims_beyond_overlap() -> dict:
    """Most leases holding one solution at the same moment, against its overlap.

    A lease holds its slot from its claim until its submit, or until it expires: a late submit is
    kept (no label is lost) but its slot had gone back to the queue, so it is not a double claim."""
    from labeling.models import Lease, QueueEntry

    overlap = dict(QueueEntry.objects.values_list("solution_id", "overlap"))
    spans: dict[int, list[tuple]] = {}
    for sol, created, expires, submitted in Lease.objects.values_list(
            "solution_id", "created_at", "expires_at", "labeled_pass__submitted_at").iterator():
        end = min(submitted, expires) if submitted else expires
        spans.setdefault(sol, []).append((created, end))
    over = excess = 0
    for sol, items in spans.items():
        if len(items) <= overlap.get(sol, 1):
            continue
        edges = sorted([(s, 1) for s, _ in items] + [(e, -1) for _, e in items], key=lambda x: (x[0], x[1]))
        peak = cur = 0
        for _, step in edges:
            cur += step
            peak = max(peak, cur)
        if peak > overlap.get(sol, 1):
            over += 1
            excess += peak - overlap.get(sol, 1)
    return {"solutions": over, "excess": excess}


def check_database(acked: set[str], prefix: str) -> dict:
    from django.db import connection

    from labeling.models import LabeledPass

    mine = LabeledPass.objects.filter(annotator__user__username__startswith=prefix)
    found = mine.filter(client_id__in=acked).count()
    out = {"acked": len(acked), "acked_found": found, "lost": len(acked) - found, "passes": mine.count()}
    out["stored_not_acked"] = out["passes"] - found
    with connection.cursor() as cur:
        cur.execute("""SELECT count(*) FROM (SELECT annotator_id, solution_id FROM labeling_labeledpass
                       GROUP BY annotator_id, solution_id HAVING count(*) > 1) AS x""")
        out["duplicate_passes"] = cur.fetchone()[0]
        for name in ("passes_beyond_overlap", "counter_mismatches", "leases_submitted_without_pass"):
            cur.execute(CHECK_SQL[name])
            out[name] = cur.fetchone()[0]
    out["claims_beyond_overlap"] = claims_beyond_overlap()
    return out


def windows(events: list[tuple], faults: list[dict], width: float, baseline: tuple[float, float]) -> list[dict]:
    """Requests by the time they were sent: a baseline with no round running, then around each fault."""
    rows = []
    spans = [("-", "baseline", baseline)]
    for f in faults:
        spans += [(f["name"], "before", (f["start"] - width, f["start"])),
                  (f["name"], "during", (f["start"], f["end"])), (f["name"], "after", (f["end"], f["end"] + width))]
    for name, phase, (lo, hi) in spans:
        picked = [e for e in events if lo <= e[0] < hi or (phase == "during" and e[0] == hi)]
        row = {"fault": name, "phase": phase, "seconds": round(hi - lo, 1),
               "5xx": sum(1 for e in picked if e[3] >= 500), "no_answer": sum(1 for e in picked if e[3] == 0)}
        for kind in KINDS:
            row[kind] = summary_ms([e[2] for e in picked if e[1] == kind and e[3] == 200])
        rows.append(row)
    return rows


def analyse(ran: dict, usernames: list[str], args) -> dict:
    t0 = ran["t0"]
    results = [r for r in ran["results"] if not r.get("aborted")]
    events = sorted((t - t0, kind, ms, status) for r in results for (t, kind, ms, status) in r["events"])
    acked = {str(x) for r in results for x in r["acked"]}
    gave_up = [c for r in results for c in r["gave_up"]]
    faults = ran["faults"]
    failures = [{"t": round(t, 1), "kind": kind, "status": status, "fault": _fault_at(t, faults)}
                for t, kind, _, status in events if status >= 500 or status == 0]
    db = check_database(acked, usernames[0].rsplit("-", 1)[0] if usernames else "bench-annotator")
    rnd = ran["round"]
    last = rnd["last"] or {}
    round_ok = last.get("status") == "succeeded" or (last.get("status") == "failed" and bool(last.get("error")))
    n5xx = sum(1 for f in failures if f["status"] >= 500)
    counts = Counter(kind for _, kind, _, status in events if status == 200)
    verdict = {"lost": db["lost"] == 0, "duplicate_passes": db["duplicate_passes"] == 0,
               "claims_beyond_overlap": db["claims_beyond_overlap"]["excess"] == 0, "no_5xx": n5xx == 0,
               "replays_answered_same": not any(r["replay_mismatch"] for r in results),
               "every_submit_acked": not gave_up, "counters": db["counter_mismatches"] == 0, "round": round_ok,
               "clients_reported": len(results) == args.client_procs}
    verdict["ok"] = all(verdict.values())
    return {
        "setup": {k: getattr(args, k) for k in ("annotators", "late", "think_ms", "replay", "queued", "train", "pool",
                                                "epochs", "gap", "redis_down", "lock_seconds", "lease_seconds",
                                                "stall_seconds", "web_workers", "web_threads")},
        "duration_s": round(ran["end"], 1), "requests": len(events), "ok_by_kind": dict(counts),
        "submits_per_s": round(len(acked) / max(ran["end"], 1e-9), 1),
        "late_acked": sum(r["late_acked"] for r in results), "reconnects": sum(r["reconnects"] for r in results),
        "gave_up": gave_up[:20], "replay_mismatch": [m for r in results for m in r["replay_mismatch"]][:10],
        "client_errors": [e for r in results for e in r["errors"]][:10],
        "faults": [{**f, "start": round(f["start"], 1), "end": round(f["end"], 1)} for f in faults],
        "failures": failures, "5xx": n5xx, "no_answer": sum(1 for f in failures if f["status"] == 0),
        "db": db, "round": {"status": last.get("status"), "error": last.get("error"), "attempt": last.get("attempt"),
                            "counts": last.get("counts"), "history": [{k: v for k, v in h.items() if k != "key"}
                                                                      for h in rnd["history"]],
                            "resumes": rnd["resumes"]},
        "windows": windows(events, faults, args.window, (min(5.0, args.baseline / 2), args.baseline)),
        "verdict": verdict,
    }


def _ms(s: dict) -> str:
    if not s["n"]:
        return "-"
    return f"{s['p50']:.0f}/{s['p95']:.0f}/{s['p99']:.0f}"


def print_report(out: dict) -> None:
    db, rnd, v = out["db"], out["round"], out["verdict"]
    print(f"\nSoak: {out['setup']['annotators']} annotators ({out['setup']['late']} late), think "
          f"{out['setup']['think_ms']:g} ms, {out['duration_s']} s, {out['requests']} requests, "
          f"{out['submits_per_s']} acknowledged submits/s\n")
    print("Faults (seconds from the start):")
    for f in out["faults"]:
        print(f"  {f['start']:7.1f} - {f['end']:7.1f}  {f['name']:<22} {f['what']}")
    print("\nLabels:")
    print(f"  acknowledged to clients   {db['acked']}")
    print(f"  of those in the database  {db['acked_found']}   lost: {db['lost']}")
    print(f"  stored, never acknowledged {db['stored_not_acked']}   submits given up by clients: {len(out['gave_up'])}")
    print(f"  late submits acknowledged {out['late_acked']}   passes beyond overlap (late submits kept): "
          f"{db['passes_beyond_overlap']}")
    print(f"  duplicate passes          {db['duplicate_passes']}   replays answered differently: "
          f"{len(out['replay_mismatch'])}")
    print(f"  claims beyond overlap     {db['claims_beyond_overlap']['excess']}   queue counter mismatches: "
          f"{db['counter_mismatches']}")
    print(f"\nResponses: 5xx {out['5xx']}, no answer (connection dropped) {out['no_answer']}, "
          f"reconnects {out['reconnects']}")
    for f in out["failures"][:30]:
        print(f"  t={f['t']:7.1f}  {f['kind']:<12} {f['status'] or 'no answer'}  during {f['fault']}")
    print(f"\nRound: {rnd['status']} (attempt {rnd['attempt']}){' - ' + rnd['error'] if rnd['error'] else ''}")
    for h in rnd["history"]:
        print(f"  t={h['t']:7.1f}  {h['status']:<10} stage {h['stage']}, attempt {h['attempt']}"
              f"{' - ' + h['error'][:100] if h.get('error') else ''}")
    for r in rnd["resumes"]:
        print(f"  t={r['t']:7.1f}  resumed through the API: {r['status']}")
    print("\nLatency p50/p95/p99 ms (successful requests):")
    print(f"  {'fault':<22}{'phase':<9}{'s':>6}{'next':>19}{'draft':>19}{'submit':>19}{'5xx':>5}{'drop':>6}")
    for w in out["windows"]:
        print(f"  {w['fault']:<22}{w['phase']:<9}{w['seconds']:>6}{_ms(w['next']):>19}{_ms(w['draft']):>19}"
              f"{_ms(w['submit']):>19}{w['5xx']:>5}{w['no_answer']:>6}")
    if out["client_errors"]:
        print("\nFirst client errors:")
        for e in out["client_errors"]:
            print(f"  {e}")
    print("\nVerdict: " + ("OK" if v["ok"] else "FAILED: " + ", ".join(k for k, ok in v.items() if not ok)))
