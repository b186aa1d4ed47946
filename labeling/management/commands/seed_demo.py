from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from labeling.demo import seed as demo
from labeling.demo.agent_seed import seed_agent_project


class Command(BaseCommand):
    help = ("Create demo logins (one per role) and generated math problems with step-by-step candidate "
            "solutions, about half with a deliberate arithmetic slip, in two projects: the default one (PRM800K "
            "phase 2: stop at the first error), demo-every-step (rate every step, no neutral; a third as many "
            "problems, some the same) and demo-agent (those problems solved by a calculator agent, as tool-call "
            "traces, every turn labelled by a checker). Safe to re-run: existing problems and solutions are kept, "
            "and the demo passwords are reset and printed.")

    def add_arguments(self, parser):
        parser.add_argument("--problems", type=int, default=60, help="Number of problems (default 60).")
        parser.add_argument("--solutions", type=int, default=4, help="Candidate solutions per problem (default 4).")
        parser.add_argument("--seed", type=int, default=0, help="Generator seed; the same seed gives the same data.")
        parser.add_argument("--annotators", type=int, default=2, help="Number of annotator logins (default 2).")
        parser.add_argument("--password", help="Use this password for every demo login instead of random ones.")
        parser.add_argument("--force", action="store_true",
                            help="Take over existing accounts with a demo username that seed_demo did not create.")

    def handle(self, *args, problems, solutions, seed, annotators, password, force, **opts):
        if problems < 0 or solutions < 1 or annotators < 0:
            raise CommandError("--problems must be >= 0, --solutions >= 1 and --annotators >= 0")
        try:
            with transaction.atomic():
                logins = demo.seed_users(annotators, password, force)
                stats = demo.seed_problems(problems, solutions, seed)
                second, second_stats = demo.seed_second_project(max(problems // 3, min(problems, 1)), solutions,
                                                                seed, logins)
                third, third_stats = seed_agent_project(max(problems // 3, min(problems, 1)), solutions, seed,
                                                        logins)
        except demo.NotADemoUser as exc:
            raise CommandError(f"these accounts exist and were not made by seed_demo: {exc}. Their passwords were "
                               f"not changed; pass --force to reset them as demo logins.") from None
        self.stdout.write(self.style.SUCCESS(f"Demo data (seed {seed}): {stats.summary()}."))
        self.stdout.write(f"Second project {second.slug} ({second.get_protocol_display()}, no neutral): "
                          f"{second_stats.summary()}.")
        self.stdout.write(f"Third project {third.slug} (a calculator agent's traces, every step): "
                          f"{third_stats.summary()}.")
        if stats.created["solutions"]:
            self.stdout.write(f"{stats.wrong} of the {stats.created['solutions']} new solutions contain a "
                              f"deliberate error.")
        self.stdout.write(self.logins_table(logins))

    @staticmethod
    def logins_table(logins: list[demo.Login]) -> str:
        rows = [("username", "role", "password")] + [(x.username, x.role, x.password) for x in logins]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\nDemo logins (passwords are reset on every run):\n" + "\n".join(f"  {line}" for line in lines) + "\n"
