"""Every API error is JSON: {"error": message, "field": where, "errors": [...]}, never a
stack trace or a server path."""
import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from labeling.submission import SubmissionError

log = logging.getLogger(__name__)


def _flatten(detail, path: str = "") -> list[dict]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            key = "" if key in ("non_field_errors", "detail") else str(key)
            out += _flatten(value, f"{path}.{key}" if path and key else path or key)
        return out
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [{"field": path or None, "message": str(d)} for d in detail]
        out = []
        for i, value in enumerate(detail):
            if value:
                out += _flatten(value, f"{path}[{i}]")
        return out
    return [{"field": path or None, "message": str(detail)}]


def exception_handler(exc, context):
    if isinstance(exc, SubmissionError):
        code = status.HTTP_404_NOT_FOUND if exc.field == "lease" else status.HTTP_400_BAD_REQUEST
        return Response({"error": exc.message, "field": exc.field,
                         "errors": [{"field": exc.field, "message": exc.message}]}, status=code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("not found")
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_handler(exc, context)
    if response is None:
        # Unexpected: log it with the trace for operators, tell the client only that it happened.
        log.exception("unhandled API error", exc_info=exc)
        return Response({"error": "internal error; it has been logged", "field": None, "errors": []},
                        status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    errors = _flatten(response.data) or [{"field": None, "message": "error"}]
    response.data = {"error": errors[0]["message"], "field": errors[0]["field"], "errors": errors}
    return response
