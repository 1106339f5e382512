"""Domain errors raised by services and selectors, mapped to a transport once (DRF handler, consumer).

Each error carries a stable machine-readable ``code`` and the HTTP status it maps to; sockets send the
same code in an ``error`` frame.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Base of every error a client may be told about."""

    code = "error"
    http_status = 400
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None, *, code: str | None = None, extra: dict[str, Any] | None = None):
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.extra = extra or {}
        super().__init__(self.detail)


class InvalidInput(ApplicationError):
    """The input is well-formed but breaks a rule (too long, empty, out of range)."""

    code = "invalid"
    default_detail = "Invalid input."


class NotFound(ApplicationError):
    """The object does not exist, or the caller may not see it (the two are never told apart)."""

    code = "not_found"
    http_status = 404
    default_detail = "Not found."


class PermissionDenied(ApplicationError):
    """The caller sees the object but may not change it."""

    code = "permission_denied"
    http_status = 403
    default_detail = "You do not have permission to perform this action."


class Conflict(ApplicationError):
    """The request contradicts the stored state (e.g. a reused client_id with other content)."""

    code = "conflict"
    http_status = 409
    default_detail = "The request conflicts with the current state."


class PayloadTooLarge(ApplicationError):
    """The body or a file is over a configured limit."""

    code = "too_large"
    http_status = 413
    default_detail = "The request is too large."


class UnsupportedMediaType(ApplicationError):
    """The content type is not on the allow-list."""

    code = "unsupported_media_type"
    http_status = 415
    default_detail = "This type of content is not accepted."


class RateLimited(ApplicationError):
    """The caller sends faster than allowed."""

    code = "rate_limited"
    http_status = 429
    default_detail = "Too many requests; slow down."


class NotAuthenticated(ApplicationError):
    """Credentials are missing, wrong, expired or belong to an inactive user."""

    code = "not_authenticated"
    http_status = 401
    default_detail = "Authentication credentials were not provided or are not valid."
