"""Keep credentials out of log lines.

Access tokens travel in WebSocket query strings (browsers cannot set headers on a WebSocket), and
daphne logs request paths, so every log record is scrubbed before a handler writes it.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAM = re.compile(r"((?:^|[?&;\s])(?:token|access_token|refresh|refresh_token|access)=)[^&\s\"']+", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)


def redact(text: str) -> str:
    """Replace token values in query strings and Authorization headers by ``[redacted]``."""
    return _BEARER.sub(r"\1[redacted]", _SECRET_PARAM.sub(r"\1[redacted]", text))


class RedactTokensFilter(logging.Filter):
    """Rewrite a record's message with its arguments merged in, tokens removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
