"""Runs: work a plan fixes when it starts, done chunk by chunk, resumable. Generation runs
(activelearn/policy/generation.py) and automatic-label runs (activelearn/labellers/runs.py) are two
kinds of it; a round's stages carry them out over the workers (activelearn/rounds/stages.py), a
command in its own process (`run_all`).

A run is a row with a unique `key`, a `status` (labeling.models.RunStatus), an `error`,
`finished_at` and the cost fields. It is made once under its key (started again, it is the run
that was made). What is left of it is what its rows do not hold yet (`missing`), so a resumed run
or a redelivered chunk does only the rest and nothing twice. Its cost moves with F() updates as
chunks go. A kind says what a unit of its work is and what is left of it, and what its summary
adds; how a chunk is done is each kind's own function (its arguments differ).
"""
from collections.abc import Callable, Collection, Iterable

from django.db.models import F, Model
from django.utils import timezone

from labeling.models import RunStatus
from labeling.storage import keyed

# what a policy client's usage adds to a run (activelearn.policy.samples.Usage has them all)
COST_FIELDS = ("requests", "retries", "failed_requests", "prompt_tokens", "completion_tokens", "request_seconds")


class Runs:
    """The runs of one kind: the generic part. A subclass names its model and says what differs."""

    model: type[Model]
    cost_fields: tuple[str, ...] = COST_FIELDS  # shown in the summary's cost, in this order

    # --- what a kind says ---------------------------------------------------------------------

    def missing(self, run, ids: Iterable[int] | None = None) -> Collection[int]:
        """The units of the plan (or of `ids`) with work left, in plan order: a chunk is a list of them."""
        raise NotImplementedError

    def total(self, run) -> int:
        """How much work the plan holds (samples, solutions), for progress."""
        raise NotImplementedError

    def left(self, todo: Collection[int]) -> int:
        """How much of that work `missing`'s answer holds (one per unit unless a unit holds more)."""
        return len(todo)

    def figures(self, run) -> dict:
        """What the summary says of this kind's run beside its key, status and cost."""
        raise NotImplementedError

    def settle(self, run, status: str, error: str) -> tuple[str, str]:
        """How the run ended, from how its caller thinks it did (a kind may know better)."""
        return status, error

    # --- the mechanism ------------------------------------------------------------------------

    def start(self, key: str, make: Callable[[], Model]):
        """The run `key`: the one made earlier, else `make()` (its plan frozen then)."""
        return keyed.once(self.model, key, make)

    def chunks(self, run, size: int) -> list[list[int]]:
        """What is left, cut into chunks of `size` units (one task each)."""
        todo = list(self.missing(run))
        return [todo[i:i + size] for i in range(0, len(todo), size)]

    def complete(self, run) -> bool:
        return not self.missing(run)

    def done(self, run) -> int:
        """How much of `total` is done."""
        return self.total(run) - self.left(self.missing(run))

    def add_cost(self, run, usage, **more: int) -> None:
        """Add what requests cost (a Usage) and this kind's own counters (`more`)."""
        self.model.objects.filter(pk=run.pk).update(**{f: F(f) + getattr(usage, f) for f in COST_FIELDS},
                                                    **{f: F(f) + n for f, n in more.items()})

    def finish(self, run, status: str = RunStatus.SUCCEEDED, error: str = "") -> str:
        """Record how the run ended; returns the status (`settle` may have changed it)."""
        status, error = self.settle(run, status, error)
        self.model.objects.filter(pk=run.pk).update(status=status, error=error[:4000], finished_at=timezone.now())
        return status

    def summary(self, run) -> dict:
        """What the run did and cost, for the round page, the API and the commands."""
        run.refresh_from_db()
        return {"run": run.key, "status": run.status, **self.figures(run),
                "cost": {f: getattr(run, f) for f in self.cost_fields}}

    def run_all(self, run, size: int, do_chunk: Callable[[list[int]], object], *,
                progress: Callable[[list[int], object], None] | None = None,
                failing: tuple[type[BaseException], ...] = (Exception,),
                reason: Callable[[BaseException], str] = str) -> str:
        """Every chunk still missing, here, one after the other (`progress(chunk, its result)` after each); then
        the run finished. An error of `failing` finishes it failed, keeping what it did (the same key goes on
        from there), and is raised again. Returns the run's status."""
        try:
            for chunk in self.chunks(run, size):
                result = do_chunk(chunk)
                if progress:
                    progress(chunk, result)
        except failing as exc:
            self.finish(run, RunStatus.FAILED, reason(exc))
            raise
        return self.finish(run)
