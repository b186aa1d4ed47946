"""Sample candidate solutions from a policy, outside rounds: the same connections, plan and storage
as a round's generate stage, run in this process."""
import hashlib
import json

from django.core.management.base import BaseCommand, CommandError

from activelearn.cli.run_progress import carry_out
from activelearn.options import OptionError, describe_default, from_text
from activelearn.policy import connection, generation
from labeling.cli import actor_from, add_actor_argument, add_project_argument, project_from
from labeling.models import DEFAULT_PROJECT_ID, AuditAction
from labeling.people import audit


class Command(BaseCommand):
    help = ("Sample N solutions per problem from a policy connection (demo, default, or a stored one), split them "
            "into steps, deduplicate, store each with its provenance and grade it. A run is resumable: the same "
            "--run again asks only for the samples it does not have.")

    def add_arguments(self, parser):
        parser.add_argument("--connection", default="demo", help="demo (built-in), default (POLICY_BASE_URL) or a "
                            "stored connection's name. Default: demo.")
        parser.add_argument("--samples", type=int, default=16, help="Samples per problem (default 16).")
        parser.add_argument("--run", help="Run name: the same name resumes that run. Default: derived from the "
                            "connection, the samples and the problem filter, so the same command resumes.")
        for name, kind in (("subject", str), ("level", int), ("source", str), ("fewer-than", int),
                           ("problem-cap", int)):
            parser.add_argument(f"--{name}", type=kind, help="Problem filter (see the rounds' options).")
        for o in connection.OVERRIDABLE:  # never the server or the key variable: the connection's own
            parser.add_argument("--" + o.name.replace("_", "-"), dest=f"c_{o.name}", metavar="VALUE",
                                help=f"{o.help} Default: the connection's ({describe_default(o)} if unset).")
        parser.add_argument("--no-progress", action="store_true")
        add_actor_argument(parser)
        add_project_argument(parser)

    def handle(self, *args, **o):
        overrides = {}
        try:
            for opt in connection.OVERRIDABLE:
                if o.get(f"c_{opt.name}") is not None:
                    overrides[opt.name] = from_text(opt, o[f"c_{opt.name}"])
            project = project_from(o)
            conn = connection.resolve(o["connection"], overrides, project=project.pk)
        except OptionError as exc:
            raise CommandError(f"--{exc.field.replace('_', '-')}: {exc.message}") from None
        if o["samples"] < 1:
            raise CommandError("--samples must be at least 1")
        filters = {"subject": o["subject"], "level": o["level"], "source": o["source"],
                   "fewer_than": o["fewer_than"], "problem_cap": o["problem_cap"]}
        key = o["run"] or "cli-" + hashlib.sha256(json.dumps(
            [conn.public(), o["samples"], filters, *([project.slug] if project.pk != DEFAULT_PROJECT_ID else [])],
            sort_keys=True, default=str).encode()).hexdigest()[:12]
        run = generation.start_run(key, conn, o["samples"], filters, user=actor_from(o), project=project.pk)
        if run.project_id != project.pk:
            raise CommandError(f"run {key} belongs to another project: name another run")
        if run.connection != conn.name or run.config["samples_per_problem"] != o["samples"]:
            raise CommandError(f"run {key} was made with connection {run.connection} and "
                               f"{run.config['samples_per_problem']} samples per problem: name another run")
        carry_out(generation.RUNS, run, 8, lambda chunk: generation.run_chunk(run, conn, chunk),
                  desc=f"generate {key}", unit="sample", advance=lambda chunk, counts: counts["samples"],
                  kept="stored", no_progress=o["no_progress"])
        s = generation.RUNS.summary(run)
        audit.record(actor_from(o), AuditAction.GENERATION_RUN, run, connection=run.connection,
                     samples=s["samples"], outcomes=s["outcomes"], cost=s["cost"])
        out, cost = s["outcomes"], s["cost"]
        self.stdout.write(self.style.SUCCESS(
            f"run {key}: {s['samples']} samples over {s['problems']} problems: {out['kept']} new solutions, "
            f"{out['duplicate']} duplicates, dropped {out['empty']} empty, {out['truncated']} truncated, "
            f"{out['too_long']} too long. Cost: {cost['requests']} requests ({cost['retries']} retries, "
            f"{cost['failed_requests']} failed), {cost['prompt_tokens']} prompt + {cost['completion_tokens']} "
            f"completion tokens, {cost['request_seconds']:.1f} s in requests."))
