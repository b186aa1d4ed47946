"""Scoring solutions with a registered version: chunks from the database, upserted SolutionScore rows."""
from collections.abc import Callable

from activelearn.models import ModelVersion, SolutionScore
from activelearn.prm import loading
from activelearn.prm.reward_model import RewardModel
from activelearn.prm.trajectory_text import with_context
from labeling.models import Solution


def score_solutions(version: ModelVersion, solutions=None, *, chunk: int = 512, batch_size: int | None = None,
                    progress: Callable[[int], None] | None = None, rm: RewardModel | None = None) -> int:
    """Score solutions with a version and store the scores, chunk by chunk (flat memory)."""
    rm = rm or loading.load(version.path)
    qs = (solutions if solutions is not None else Solution.objects.all()).order_by("id")
    last, done = 0, 0
    while True:
        rows = list(qs.filter(id__gt=last).values_list("id", "steps", "problem__text", "extra__step_context")[:chunk])
        if not rows:
            return done
        scored = rm.score([(text, with_context(steps, contexts)) for _, steps, text, contexts in rows], batch_size)
        SolutionScore.objects.bulk_create(
            [SolutionScore(solution_id=sid, model_version=version, score=s, step_scores=steps)
             for (sid, *_), (s, steps) in zip(rows, scored, strict=True)],
            update_conflicts=True, unique_fields=["model_version", "solution"], update_fields=["score", "step_scores"])
        done += len(rows)
        last = rows[-1][0]
        if progress:
            progress(done)
