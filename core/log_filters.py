"""Keep credentials out of log lines.

Access tokens travel in WebSocket query strings (browsers cannot set headers on a WebSocket), and
daphne logs request paths, so every log record is scrubbed before a handler writes it, and the
formatters redact what the filter does not see: tracebacks, stacks and the fields of JSON lines.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_SECRET_PARAM = re.compile(r"((?:^|[?&;\s])(?:token|access_token|refresh|refresh_token|access)=)[^&\s\"']+", re.I)
_CONTEXT_IDS = {"request_id", "connection_id"}
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
# An incoming webhook's URL carries its secret as the last path segment (integrations/urls.py).
_HOOK_SECRET = re.compile(r"(/hooks/\d+/)[^/\s?\"']+")


def redact(text: str) -> str:
    """Replace token values in query strings and Authorization headers, and webhook secrets in paths,
    by ``[redacted]``."""
    return _HOOK_SECRET.sub(r"\1[redacted]", _BEARER.sub(r"\1[redacted]", _SECRET_PARAM.sub(r"\1[redacted]", text)))


class RedactTokensFilter(logging.Filter):
    """Rewrite a record's message with its arguments merged in, tokens removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def redact_values(value: Any) -> Any:
    """``redact`` every string in a JSON-like structure (a JSON log line's fields, before serializing);
    any other object becomes its redacted ``str`` (Django logs the request itself, whose repr holds the
    query string)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


class RedactingFormatter(logging.Formatter):
    """The plain format, redacted as a whole: the message, the traceback (exception messages and the
    source lines it quotes) and the stack."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line (``CHAT_LOG_FORMAT=json``); every string field is redacted, the
    traceback and any ``extra`` field included, before it is serialized (redacting the serialized text
    could cut an escape sequence)."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        fields = super().process_log_record(log_data)
        return {
            key: redact_values(value)
            for key, value in fields.items()
            # The plain format's prefix, and the ids outside a request or socket.
            if key != "context" and not (key in _CONTEXT_IDS and value is None)
        }
