"""back_chat's JSON shapes, built from the new API's payloads (pure: no database, no request).

REST (``GET /v1/messages``) and the legacy sockets (``/ws/messages``) use the same builders, so a
back_chat client sees a message alike wherever it comes from.
"""

from __future__ import annotations

from typing import Any

LEGACY_MTYPE = "message"


def legacy_message(message: dict[str, Any], *, is_mine: bool) -> dict[str, Any]:
    """A message as back_chat sent it (``user_id``, ``content``, ``timestamp``, ``mtype``, ``isMine``),
    with the new ``id``, ``seq``, ``room``, ``sender`` and ``attachments`` beside them for migration.

    ``message`` is ``messaging.events.message_payload``'s dict; ``user_id`` is the sender's username
    (back_chat identified people by name), None for a deleted account.
    """
    sender = message.get("sender") or {}
    return {
        "user_id": sender.get("username"),
        "content": message["content"],
        "timestamp": message["created_at"],
        "mtype": LEGACY_MTYPE,
        "isMine": is_mine,
        "id": message["id"],
        "seq": message["seq"],
        "room": message["room"],
        "sender": message.get("sender"),
        "attachments": message.get("attachments", []),
    }


def legacy_presence(user: dict[str, Any], *, online: bool, is_mine: bool, now: str) -> dict[str, Any]:
    """back_chat's ``connect`` / ``disconnect`` frame on /ws/messages for a ``presence`` frame's user:
    its shape is a message's, ``mtype`` says which, ``content`` says it in words, ``timestamp`` is when
    this process heard it; ``user`` is the new protocol's user beside them."""
    name = user.get("display_name") or user.get("username")
    return {
        "user_id": user.get("username"),
        "content": f"{name} {'connected' if online else 'disconnected'}",
        "timestamp": now,
        "mtype": "connect" if online else "disconnect",
        "isMine": is_mine,
        "user": user,
    }


def legacy_connected_user(user: dict[str, Any], *, now: str) -> dict[str, Any]:
    """back_chat's ``UserConnection`` from a ``/api/v1/connected-users/`` entry.

    Every listed user has an open socket when the answer is built, so ``lastConnection`` is that time.
    """
    return {"name": user["username"], "status": "online", "lastConnection": now, **user}
