"""Active learning around the labels: the process reward model (prm), answer grading (grading),
what to label next (selection) and the rounds that tie them together (rounds), with their Celery
entry points (celery_tasks), page (views) and worker heartbeats.

Layers, top to bottom (pyproject.toml, checked by lint-imports): entry points (apps, urls, admin,
management, views, context_processors, celery_tasks) > rounds > selection > prm | grading >
heartbeat > models. The policy connection and the automatic labellers go beside selection,
under rounds. See docs/architecture.md.
"""
