"""Active learning around the labels: the process reward model (prm), answer grading (grading),
what to label next (selection), the policy that writes candidates (policy) and the rounds that
tie them together (rounds), with their Celery entry points (celery_tasks), page (views) and
worker heartbeats; generation and automatic-label runs share one run/chunk mechanism (runs).

Layers, top to bottom (pyproject.toml, checked by lint-imports): entry points (apps, urls, admin,
management, views, context_processors, celery_tasks) > rounds > selection | policy > prm |
grading > heartbeat | options | runs > models. The automatic labellers go beside selection and policy,
under rounds. See docs/architecture.md.
"""
