"""The REST API under /api/: thin views (api.views) and their request and response shapes
(api.serializers, one module per views module) over the services of labeling and activelearn.
Errors are defined once (api.exceptions) and documented once (api.schema)."""
