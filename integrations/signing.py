"""Signatures of outgoing deliveries: ``X-Chat-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``.

The timestamp (``X-Chat-Timestamp``, Unix seconds) is signed with the body, so a receiver that refuses
timestamps outside a window (README "Outgoing webhooks") cannot be sent an old delivery again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Chat-Signature"
TIMESTAMP_HEADER = "X-Chat-Timestamp"
SCHEME = "sha256="


def new_secret() -> str:
    """A signing secret for a subscription: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header for ``body`` sent at ``timestamp``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return SCHEME + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, now: float, tolerance: int = 300) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` with ``secret``, within ``tolerance`` seconds of
    ``now`` (what a receiver checks; the README's reference receiver is the same logic)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), header)
