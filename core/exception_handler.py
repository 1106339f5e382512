"""The one place where errors become HTTP responses for the API: always JSON, never a traceback.

Shapes (DESIGN.md): ``{"detail": "...", "code": "..."}`` for every error, or DRF's field dictionary
``{"field": ["..."]}`` for validation errors.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core import exceptions as django_exceptions
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError, FieldErrors

logger = logging.getLogger("core.exception_handler")

SERVER_ERROR = {"detail": "Internal server error.", "code": "server_error"}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Render every exception raised in an API view as JSON in the contract's shapes."""
    if isinstance(exc, FieldErrors):
        return Response(exc.fields, status=exc.http_status)
    if isinstance(exc, ApplicationError):
        response = Response({"detail": exc.detail, "code": exc.code, **exc.extra}, status=exc.http_status)
        if exc.http_status == status.HTTP_401_UNAUTHORIZED:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        if "retry_after" in exc.extra:
            response["Retry-After"] = str(exc.extra["retry_after"])
        return response
    exc = _as_drf_exception(exc)
    handled = drf_exception_handler(exc, context)
    if handled is None:
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(SERVER_ERROR, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    handled.data = _normalise(exc, handled.data)
    return handled


def _as_drf_exception(exc: Exception) -> Exception:
    """Translate Django's own exceptions, which DRF leaves to Django's HTML error pages."""
    if isinstance(exc, django_exceptions.RequestDataTooBig):
        return PayloadTooLargeError(str(exc) or None)
    if isinstance(exc, (django_exceptions.TooManyFieldsSent, django_exceptions.TooManyFilesSent)):
        return drf_exceptions.ParseError(str(exc))
    if isinstance(exc, django_exceptions.ValidationError):
        if hasattr(exc, "error_dict"):
            return drf_exceptions.ValidationError(exc.message_dict)
        return drf_exceptions.ValidationError({"detail": exc.messages})
    return exc


class PayloadTooLargeError(drf_exceptions.APIException):
    """DRF form of a 413, for Django's RequestDataTooBig."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def _normalise(exc: Exception, data: Any) -> Any:
    if isinstance(exc, drf_exceptions.ValidationError):
        if isinstance(data, dict):
            return data
        messages = data if isinstance(data, list) else [data]
        return {"detail": " ".join(str(m) for m in messages), "code": "invalid"}
    if isinstance(data, dict) and "detail" in data:
        code = data.get("code") or getattr(data["detail"], "code", None) or _default_code(exc)
        return {**data, "detail": str(data["detail"]), "code": str(code)}
    return {"detail": str(data), "code": _default_code(exc)}


def _default_code(exc: Exception) -> str:
    return getattr(exc, "default_code", None) or "error"
