"""Publish real-time events after the transaction commits, without ever blocking the database thread.

Services call these functions inside their transactions. Each event is serialized once, here, and
queued when the transaction commits (``transaction.on_commit``), so no client ever sees a rolled-back
write. Under a server the queue is drained on the event loop by this process's hub, which delivers to
its own sockets at once and forwards to other processes through the channel layer with a timeout; in a
management command or a plain sync test there is no loop and the event goes to the layer directly.
Async code (consumers, the hub) publishes with the ``*_now`` variants: it holds no transaction.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Literal

from django.db import transaction

from core.validation import encodable
from realtime import outbox

Audience = Literal["messages", "notifications", "all"]


def encode(frame: dict[str, Any]) -> str:
    """Serialize a frame exactly once for all its recipients (compact JSON, UTF-8 kept as is)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, default=str)


def encode_reply(frame: dict[str, Any]) -> str:
    """``encode`` for a frame to one client, which may echo values it sent (a ``client_id``): a lone
    surrogate, valid in JSON and in JavaScript strings but not in UTF-8, is kept as a ``\\u`` escape
    instead of failing the send (daphne encodes every text frame to UTF-8)."""
    text = encode(frame)
    return text if encodable(text) else json.dumps(frame, separators=(",", ":"), ensure_ascii=True, default=str)


def frame_envelope(
    group: str,
    frame: dict[str, Any],
    *,
    audience: Audience,
    room: int | None = None,
    seq: int | None = None,
    sender: int | None = None,
    **control: Any,
) -> dict[str, Any]:
    """The hub's envelope for one frame: the serialized text plus what routing needs."""
    return {
        "group": group,
        "audience": audience,
        "frame": encode(frame),
        "room": room,
        "seq": seq,
        "sender": sender,
        **control,
    }


def publish_frame(group: str, frame: dict[str, Any], *, audience: Audience, **routing: Any) -> None:
    """Send ``frame`` to the sockets of ``audience`` in ``group`` once the current transaction commits."""
    transaction.on_commit(partial(outbox.submit, frame_envelope(group, frame, audience=audience, **routing)))


def publish_frame_now(group: str, frame: dict[str, Any], *, audience: Audience, **routing: Any) -> None:
    """Send ``frame`` at once (async code, or events that are never stored such as typing)."""
    outbox.submit(frame_envelope(group, frame, audience=audience, **routing))


def publish_close(group: str, code: int, *, room: int | None = None) -> None:
    """Close every socket in ``group`` (only those following ``room``, if given) with ``code`` once the
    current transaction commits."""
    envelope = {"group": group, "audience": "all", "close": code, "room": room}
    transaction.on_commit(partial(outbox.submit, envelope))


def publish_track(user_id: int, *, room_id: int, room_slug: str) -> None:
    """Tell the user's notification sockets to count unread messages of a room they just joined."""
    from realtime import groups

    envelope = {"group": groups.user(user_id), "audience": "notifications", "track": room_id, "slug": room_slug}
    transaction.on_commit(partial(outbox.submit, envelope))
