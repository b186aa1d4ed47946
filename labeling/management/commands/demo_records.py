"""Samples of the demo problems with the checker's step labels, as ProcessBench-shaped JSON Lines."""
from collections import Counter
from pathlib import Path

import orjson
from django.core.management.base import BaseCommand, CommandError

from labeling.demo import sampling


class Command(BaseCommand):
    help = ("Write many samples per demo problem, each with the checker's rating of every step (+1, 0, -1), its "
            "first error (`label`) and whether its final answer is right: an oracle for simulate_active_learning "
            "and best-of-N benchmarks. Deterministic for a seed; no database.")

    def add_arguments(self, parser):
        parser.add_argument("--problems", type=int, default=200)
        parser.add_argument("--samples", type=int, default=32, help="Samples per problem.")
        parser.add_argument("--seed", type=int, default=0, help="Which problems (as seed_demo's --seed).")
        parser.add_argument("--wrong-share", type=float, default=None,
                            help="Share of samples that slip once, the same for every problem (default: each "
                                 "problem's own difficulty, 40%% on average).")
        parser.add_argument("--out", required=True, help="The JSON Lines file to write.")

    def handle(self, *args, **o):
        if o["problems"] < 1 or o["samples"] < 1 or not 0 <= (o["wrong_share"] or 0) <= 1:
            raise CommandError("--problems and --samples must be at least 1, --wrong-share in [0, 1]")
        out, kinds, right = Path(o["out"]), Counter(), 0
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as f:
            for r in sampling.records(o["problems"], o["samples"], o["seed"], o["wrong_share"]):
                kinds[r["kind"] or "sound"] += 1
                right += r["final_answer_correct"]
                f.write(orjson.dumps(r) + b"\n")
        total = sum(kinds.values())
        self.stdout.write(f"{total} samples of {o['problems']} problems, {right / total:.0%} with the right answer; "
                          + ", ".join(f"{k} {n}" for k, n in kinds.most_common()) + f"; wrote {out}")
