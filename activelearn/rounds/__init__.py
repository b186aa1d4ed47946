"""Active-learning rounds: options, start/cancel/resume/watch (lifecycle), an attempt's hold on a
round (attempts), the stages it runs (stages) and what pages and the API read of it (progress)."""
