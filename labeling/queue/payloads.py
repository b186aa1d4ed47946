"""What an annotator is shown of a task: the same dict for the page and the API.

Never gold labels, other annotators' labels, or whether the task is a QC question: a QC
task reads exactly like a regular one. A screening task says so (annotators know they
are being screened).
"""
from labeling.formats.trajectories import page_context
from labeling.models import ServeReason
from labeling.queue import claims as queue


def task_payload(task) -> dict:
    if isinstance(task, queue.NoTask):
        return {"lease": None, "reason": task.reason, "message": task.message}
    solution = task.solution
    kind = "screening" if task.reason == ServeReason.SCREENING else "task"
    trace = page_context(solution.extra) if "step_messages" in solution.extra else None
    return {"lease": {"id": str(task.id), "kind": kind, "problem": solution.problem.text,
                      "ground_truth_answer": solution.problem.ground_truth_answer, "steps": solution.steps,
                      "alternatives": solution.extra.get("alternatives", {}),
                      "draft": task.draft, "expires_at": task.expires_at.isoformat(),
                      **({"trajectory": trace} if trace else {})}}
