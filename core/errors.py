"""The one tree of errors a client may be told about, mapped to each transport once.

Services, selectors and the socket protocol raise these; ``core.exception_handler`` renders them as
JSON for REST and the consumers send ``{"type": "error", "code", "detail"}`` on sockets. Each class
names its machine-readable ``code`` and HTTP status once, as class attributes: a new kind of refusal is
a new subclass (in the domain module that raises it), never a code spelt at the raise site.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ApplicationError(Exception):
    """Base of every error a client may be told about."""

    code = "error"
    http_status = 400
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        super().__init__(self.detail)


class InvalidInput(ApplicationError):
    """The input is well-formed but breaks a rule (too long, empty, out of range)."""

    code = "invalid"
    default_detail = "Invalid input."


class InvalidField(InvalidInput):
    """A field has the wrong type or shape (not a string, not a positive integer, not text)."""

    code = "invalid_field"
    default_detail = "A field is not valid."


class TooLong(InvalidInput):
    """A text or list is over its limit."""

    code = "too_long"
    default_detail = "The value is too long."


class FieldErrors(InvalidInput):
    """Values that break rules, by field: rendered as DRF's ``{"field": ["message", ...]}`` on REST."""

    def __init__(self, errors: Mapping[str, str | Sequence[str]]) -> None:
        self.fields = {name: [messages] if isinstance(messages, str) else [str(m) for m in messages]
                       for name, messages in errors.items()}  # fmt: skip
        super().__init__(" ".join(f"{name}: {' '.join(messages)}" for name, messages in self.fields.items()))


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


class ServerError(ApplicationError):
    """Something failed on the server's side; the client may retry. Never carries internal details."""

    code = "server_error"
    http_status = 500
    default_detail = "Internal server error."
