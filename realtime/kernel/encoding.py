"""Frames are serialized once, here, for all their recipients."""

from __future__ import annotations

import json
from typing import Any

from core.validation import encodable


def encode(frame: dict[str, Any]) -> str:
    """Serialize a frame exactly once for all its recipients (compact JSON, UTF-8 kept as is)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, default=str)


def encode_reply(frame: dict[str, Any]) -> str:
    """``encode`` for a frame to one client, which may echo values it sent (a ``client_id``): a lone
    surrogate, valid in JSON and in JavaScript strings but not in UTF-8, is kept as a ``\\u`` escape
    instead of failing the send (daphne encodes every text frame to UTF-8)."""
    text = encode(frame)
    return text if encodable(text) else json.dumps(frame, separators=(",", ":"), ensure_ascii=True, default=str)
