"""The OpenAPI schema documents the error responses too, so a client (and schemathesis) can
rely on them: every error body is `{"error", "field", "errors": [{"field", "message"}]}`
(api.exceptions), and each operation lists the error codes it can answer with:

* 400: the operation takes a request body or query parameters (filters; a bad page size
  is ignored, not refused);
* 401: always (no credentials, or an invalid/revoked token), with `WWW-Authenticate`;
* 403: a role permission is checked, or the method writes (a session write without the
  CSRF token is refused);
* 404: a path parameter that names nothing (or another project's object), a page number past the end, or a
  `project` that is not one of the caller's;
* 413, 415: the operation takes a request body, and it was too large, or came as another
  media type (or none).

A view declares any other error code itself with `@extend_schema(responses={400: Error})`
(e.g. a POST without a body refused for the state of the object); what it declares wins.
"""
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated


class ErrorItem(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Where: a field name or path, null for the whole request.")
    message = serializers.CharField()


class Error(serializers.Serializer):
    """Every API error: the first error's message and field, then all of them."""

    error = serializers.CharField(help_text="The first (often the only) error, for people.")
    field = serializers.CharField(allow_null=True, help_text="The field of the first error, or null.")
    errors = ErrorItem(many=True)


class SubmitConflict(Error):
    """A submit that contradicts the pass that already landed for this client id or task."""

    receipt = serializers.UUIDField(help_text="The client id under which the pass landed.")


class LeaseMovedOut(Error):
    """A draft or submit on a lease whose task moved to a new segmentation version (a merge or a split)."""

    moved_to = serializers.UUIDField(help_text="The lease the task moved to: draft and submit there.")


DESCRIPTIONS = {
    "400": "The request body or a query parameter is invalid.",
    "401": "No credentials, or an invalid or revoked token.",
    "403": "Your role does not allow this, or a session write came without the CSRF token.",
    "404": "No such object (or page).",
    "413": "The request body is too large.",
    "415": "The request body is not in one of the media types listed (or has no Content-Type).",
}

PAGINATION = {"page", "page_size"}
OPEN = (AllowAny, IsAuthenticated)  # permissions that never answer 403


class ErrorsAutoSchema(AutoSchema):
    def _error_codes(self, operation: dict) -> list[str]:
        params = operation.get("parameters", [])
        codes = []
        if "requestBody" in operation or any(p["in"] == "query" and p["name"] not in PAGINATION for p in params):
            codes.append("400")
        codes.append("401")
        checked = any(type(p) not in OPEN for p in self.view.get_permissions())
        if checked or self.method not in ("GET", "HEAD", "OPTIONS"):
            codes.append("403")
        if any(p["in"] == "path" or (p["in"] == "query" and p["name"] in ("page", "project")) for p in params):
            codes.append("404")
        if "requestBody" in operation:
            codes += ["413", "415"]
        return codes

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_codes(operation):
            if code in responses:
                continue
            response = self._get_response_for_code(Error, code)
            response["description"] = DESCRIPTIONS[code]
            if code == "401":
                response["headers"] = {"WWW-Authenticate": {
                    "schema": {"type": "string"}, "description": 'How to authenticate: `Bearer realm="api"`.'}}
            responses[code] = response
        operation["responses"] = dict(sorted(responses.items()))
        return operation
