"""Every API error is JSON: {"error": message, "field": where, "errors": [...]}, never a
stack trace or a server path."""
import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from labeling.queue.submission import LeaseMoved, SubmissionConflict, SubmissionError

log = logging.getLogger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the request body is too large"


class Conflict(exceptions.APIException):
    """The request is fine but the object's state refuses it (a round is busy, an export not done)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "conflict"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "gone"


def _utf8(text: str | None) -> str | None:
    """An error may echo the request (`"\\ud800" is not a valid choice`): a lone surrogate would
    make the renderer's UTF-8 encoding fail, a 500. It is written as its escape instead."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if text else text


def _flatten(detail, path: str = "") -> list[dict]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            key = "" if key in ("non_field_errors", "detail") else str(key)
            out += _flatten(value, f"{path}.{key}" if path and key else path or key)
        return out
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [{"field": _utf8(path) or None, "message": _utf8(str(d))} for d in detail]
        out = []
        for i, value in enumerate(detail):
            if value:
                out += _flatten(value, f"{path}[{i}]")
        return out
    return [{"field": _utf8(path) or None, "message": _utf8(str(detail))}]


def exception_handler(exc, context):
    if isinstance(exc, SubmissionConflict):
        return Response({"error": exc.message, "field": exc.field, "receipt": str(exc.receipt),
                         "errors": [{"field": exc.field, "message": exc.message}]}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, LeaseMoved):  # the old lease of a resegmented task: the new one is named
        return Response({"error": exc.message, "field": exc.field, "moved_to": exc.moved_to,
                         "errors": [{"field": exc.field, "message": exc.message}]}, status=status.HTTP_409_CONFLICT)
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
    if isinstance(exc, SuspiciousOperation):
        # Raised while reading the body (too big, too many fields): logged as Django does, a 413
        # or a 400 rather than a 500.
        logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        exc = PayloadTooLarge(str(exc)) if isinstance(exc, RequestDataTooBig) else exceptions.ParseError(str(exc))
    response = drf_handler(exc, context)
    if response is None:
        # Unexpected: log it with the trace for operators, tell the client only that it happened.
        log.exception("unhandled API error", exc_info=exc)
        return Response({"error": "internal error; it has been logged", "field": None, "errors": []},
                        status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    errors = _flatten(response.data) or [{"field": None, "message": "error"}]
    response.data = {"error": errors[0]["message"], "field": errors[0]["field"], "errors": errors}
    return response


def not_found(request, exception):
    """handler404: a URL that matches no pattern (e.g. /api/problems/abc/) is JSON under /api/
    too, like the 404s the views raise; elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not found", "field": None, "errors": [{"field": None, "message": "not found"}]},
                            status=404)
    return defaults.page_not_found(request, exception)
