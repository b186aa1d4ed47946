"""Answer grading: a solution's final answer against the problem's reference (math-verify in a
worker process with a hard timeout), and the grades cached on stored solutions."""
