"""The labels: problems, solutions and people's passes over them. The annotator's queue (queue),
people and roles (people), record formats (formats), imports and exports (imports, exports, and
their background jobs), quality figures, the audit trail and the demo data.

Layers, top to bottom (pyproject.toml, checked by lint-imports): entry points (apps, urls, admin,
management, views, celery_tasks) > quality, reads > demo > queue, imports, exports >
background > people > audit > formats > models, fields, hashing. See docs/architecture.md.
"""
