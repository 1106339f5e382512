"""back_chat's sockets, ``/ws/messages`` and ``/ws/notifications`` (no trailing slash).

They are the new consumers with two translations at the edges, and nothing else of their own:

- in: a back_chat frame (``{"user_id": ..., "content": ..., "timestamp": ..., "mtype": "message"}``, no
  ``type``) becomes the equivalent new frame and goes through the parent's handling, so the same
  service stores it; the client's ``user_id`` and ``timestamp`` are ignored (the sender is the token's
  user, the time the server's). New-protocol frames are handled as on the slash paths.
- out (``/ws/messages`` only): a broadcast ``message`` frame is sent in back_chat's shape, with
  ``isMine`` for each recipient; people coming and going (the notification sockets' ``presence``) as
  back_chat's ``mtype`` ``connect`` / ``disconnect`` frames; ``typing`` (which back_chat never had) is
  not sent, nor an ``ack`` for a frame without ``client_id`` (back_chat's front end shows any frame it
  gets as a message); every other frame (acks, errors, edits, deletions, purges, history) stays the
  new protocol's JSON.

Token lifetime: with CHAT_LEGACY_TOKEN_CHECK=handshake (the default, back_chat's behaviour) the token
is checked at the handshake only, and the socket outlives it; deactivation, deletion and a password
change still close it at once (the hub's close events do not depend on the token).

The hub hands every socket the same pre-serialized frame, so the reshaping is cached per frame: each
broadcast is parsed and encoded once per process (twice: mine / not mine), not once per legacy socket.
A legacy socket therefore always takes the ``deliver`` path, never a direct write of the shared bytes.
"""

from __future__ import annotations

import functools
import json
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from compat.shapes import LEGACY_MTYPE, legacy_message, legacy_presence
from core.errors import InvalidField
from messaging import events, limits
from realtime.consumers import MessagesConsumer, NotificationsConsumer
from realtime.kernel import encode
from realtime.protocol import SendMessage
from realtime.protocol_errors import UnknownType

# Fields of the new frames that a back_chat client may add to its own and that keep their meaning.
_PASSED_THROUGH = ("client_id", "attachments", "reply_to")


def is_legacy_frame(frame: dict[str, Any]) -> bool:
    """back_chat's frames carry ``mtype`` (or just ``content``) where the new ones carry ``type``."""
    return "type" not in frame and ("mtype" in frame or "content" in frame)


def _legacy_content(frame: dict[str, Any]) -> Any:
    mtype = frame.get("mtype", LEGACY_MTYPE)
    if mtype != LEGACY_MTYPE:
        raise UnknownType(f'Clients send mtype "{LEGACY_MTYPE}" only, not {str(mtype)[:40]!r}.')
    return frame.get("content")


def message_frame(frame: dict[str, Any]) -> dict[str, Any]:
    """The new-protocol frame equivalent to a client frame on /ws/messages (new frames unchanged)."""
    if not is_legacy_frame(frame):
        return frame
    modern = {"type": "message", "content": _legacy_content(frame)}
    return modern | {key: frame[key] for key in _PASSED_THROUGH if key in frame}


def notification_frame(frame: dict[str, Any]) -> dict[str, Any]:
    """The new-protocol frame equivalent to a client frame on /ws/notifications: back_chat's frame is
    a notification to everyone (administrators only, as ``"to": "all"`` is), titled with its content."""
    if not is_legacy_frame(frame):
        return frame
    content = _legacy_content(frame)
    if not isinstance(content, str):
        raise InvalidField("content must be a string.")
    title, _, body = content.partition("\n")
    if len(title) > limits.NOTIFICATION_TITLE:
        title, body = content[: limits.NOTIFICATION_TITLE], content
    return {"type": "notification", "to": frame.get("to", "all"), "title": title, "body": body}


@functools.lru_cache(maxsize=64)
def _reshaped(frame: str) -> tuple[int | None, str, str] | str | None:
    """A hub frame for back_chat clients: (sender id, text for the sender, text for the others) for a
    message; None for a frame they do not get; otherwise the frame unchanged."""
    decoded = json.loads(frame)
    kind = decoded.get("type")
    if kind == "typing":
        return None
    if kind != "message":
        return frame
    message = decoded["message"]
    sender_id = (message.get("sender") or {}).get("id")
    return sender_id, encode(legacy_message(message, is_mine=True)), encode(legacy_message(message, is_mine=False))


def legacy_text(frame: str, *, recipient_id: int) -> str | None:
    """What a back_chat client following a room receives for a hub frame (None: nothing)."""
    reshaped = _reshaped(frame)
    if reshaped is None or isinstance(reshaped, str):
        return reshaped
    sender_id, mine, theirs = reshaped
    return mine if sender_id is not None and sender_id == recipient_id else theirs


# The last presence frame reshaped, when (monotonic), and its two texts: a connect storm reshapes each
# frame once per process, not once per back_chat socket; the same frame a second later is news again.
_PRESENCE_REUSE_SECONDS = 1.0
_last_presence: dict[str, tuple[float, int | None, str, str]] = {}


def _presence_texts(frame: str) -> tuple[int | None, str, str] | None:
    """(user id, text for that user, text for the others) for a ``presence`` frame; None otherwise."""
    now = time.monotonic()
    cached = _last_presence.get(frame)
    if cached is not None and now - cached[0] < _PRESENCE_REUSE_SECONDS:
        return cached[1:]
    decoded = json.loads(frame)
    if decoded.get("type") != "presence" or not isinstance(decoded.get("user"), dict):
        return None
    user, online = decoded["user"], decoded.get("status") == "online"
    stamp = events.timestamp(datetime.now(UTC))
    texts = (
        user.get("id"),
        encode(legacy_presence(user, online=online, is_mine=True, now=stamp)),
        encode(legacy_presence(user, online=online, is_mine=False, now=stamp)),
    )
    _last_presence.clear()
    _last_presence[frame] = (now, *texts)
    return texts


def legacy_presence_text(frame: str, *, recipient_id: int) -> str | None:
    """What a back_chat client on /ws/messages receives for a frame every notification socket gets:
    ``connect`` / ``disconnect`` for presence, nothing for anything else."""
    texts = _presence_texts(frame)
    if texts is None:
        return None
    user_id, mine, theirs = texts
    return mine if user_id is not None and user_id == recipient_id else theirs


class LegacyTokenLifetime:
    """back_chat's sockets close when their token expires only with CHAT_LEGACY_TOKEN_CHECK=expiry."""

    def expires_with_token(self) -> bool:
        return settings.CHAT_LEGACY_TOKEN_CHECK == "expiry"  # noqa: S105  (a mode's name, not a password)


class LegacyMessagesConsumer(LegacyTokenLifetime, MessagesConsumer):
    """``/ws/messages?token=``: back_chat's frames in, back_chat's message shape out."""

    overhears_notifications = True  # presence, as connect/disconnect frames (realtime.hub.registry)

    def acknowledges(self, command: SendMessage) -> bool:
        """back_chat's front end shows every frame as a message: an ``ack`` only when asked for by ``client_id``."""
        return command.client_id is not None

    def overhear(self, frame: str) -> None:
        text = legacy_presence_text(frame, recipient_id=self.user_id)
        if text is not None:
            super().deliver(text)

    async def handle(self, frame: dict[str, Any]) -> None:
        await super().handle(message_frame(frame))

    def direct(self) -> None:
        """Never the hub's direct write of the shared broadcast bytes: every frame goes through deliver."""
        return None

    def deliver(self, frame: str) -> None:
        text = legacy_text(frame, recipient_id=self.user_id)
        if text is not None:
            super().deliver(text)


class LegacyNotificationsConsumer(LegacyTokenLifetime, NotificationsConsumer):
    """``/ws/notifications?token=``: accepts back_chat's frames too; sends the new protocol's frames."""

    async def handle(self, frame: dict[str, Any]) -> None:
        await super().handle(notification_frame(frame))
