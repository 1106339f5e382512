"""The WebSocket protocol: parsing of client frames into commands, and the protocol's own frames.

Every client frame is checked here before anything else sees it; a bad frame becomes a ProtocolError
whose code the consumer sends back in an ``error`` frame, and the socket stays open.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

from core.errors import ApplicationError, InvalidField, TooLong
from core.validation import is_storable_text
from messaging import limits
from realtime.protocol_errors import BinaryFrame, InvalidFrame, InvalidJson, ProtocolError, UnknownType

MAX_TOKEN_LENGTH = 8192  # an access token, in the query string or an ``auth`` frame


@dataclass(frozen=True)
class SendMessage:
    content: str
    client_id: str | None = None
    attachments: list[int] = field(default_factory=list)
    reply_to: int | None = None


@dataclass(frozen=True)
class Typing:
    pass


@dataclass(frozen=True)
class React:
    message_id: int
    emoji: str
    added: bool


@dataclass(frozen=True)
class SendNotification:
    to: list[int] | Literal["all"]
    title: str
    body: str = ""


@dataclass(frozen=True)
class MarkRead:
    ids: list[int] | None  # None: all


@dataclass(frozen=True)
class Authenticate:
    token: str


Command = SendMessage | Typing | React | SendNotification | MarkRead


def decode(text: str | None, *, max_bytes: int) -> dict[str, Any]:
    """The JSON object in a text frame; ``too_long`` / ``invalid_json`` / ``invalid_frame`` otherwise."""
    if text is None:
        raise BinaryFrame()
    # len(text) is a lower bound of the UTF-8 size, so most frames skip the encode.
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode()) > max_bytes):
        raise TooLong(f"Frames are limited to {max_bytes} bytes.")
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidJson() from None
    if not isinstance(frame, dict):
        raise InvalidFrame()
    return frame


def parse_messages_frame(frame: dict[str, Any]) -> SendMessage | Typing | React:
    """A client frame on /ws/messages/: ``message``, ``typing`` or ``react``."""
    kind = frame.get("type")
    if kind == "message":
        return SendMessage(
            content=_string(frame, "content", required=True, limit=None),
            client_id=_optional_string(frame, "client_id", limit=limits.CLIENT_ID),
            attachments=_int_list(frame, "attachments", limit=limits.ATTACHMENTS_PER_MESSAGE),
            reply_to=_optional_int(frame, "reply_to"),
        )
    if kind == "typing":
        return Typing()
    if kind == "react":
        return _react(frame)
    raise _unknown(kind, ("message", "typing", "react"))


def _react(frame: dict[str, Any]) -> React:
    message_id = _optional_int(frame, "message_id")
    if message_id is None:
        raise InvalidField("message_id must be a positive integer.")
    added = frame.get("added")
    if not isinstance(added, bool):
        raise InvalidField("added must be true (add the reaction) or false (remove it).")
    return React(
        message_id=message_id, emoji=_string(frame, "emoji", required=True, limit=limits.REACTION_EMOJI), added=added
    )


def parse_notifications_frame(frame: dict[str, Any]) -> SendNotification | MarkRead:
    """A client frame on /ws/notifications/: ``notification`` or ``read``."""
    kind = frame.get("type")
    if kind == "notification":
        to = frame.get("to")
        if to != "all":
            to = _int_list(frame, "to", limit=limits.NOTIFICATION_RECIPIENTS, required=True)
            if not to:
                raise InvalidField('to must be "all" or a non-empty list of user ids.')
        return SendNotification(
            to=to,
            title=_string(frame, "title", required=True, limit=limits.NOTIFICATION_TITLE),
            body=_string(frame, "body", required=False, limit=limits.NOTIFICATION_BODY),
        )
    if kind == "read":
        if frame.get("all") is True:
            return MarkRead(ids=None)
        ids = _int_list(frame, "ids", limit=limits.IDS_PER_REQUEST, required=True)
        if not ids:
            raise InvalidField('Send {"type": "read", "ids": [...]} or {"type": "read", "all": true}.')
        return MarkRead(ids=ids)
    raise _unknown(kind, ("notification", "read"))


def parse_auth_frame(frame: dict[str, Any]) -> Authenticate:
    """``{"type": "auth", "token": "<access>"}`` on either socket: a fresh token for the open socket."""
    token = frame.get("token")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidField(f"token must be an access token of at most {MAX_TOKEN_LENGTH} characters.")
    return Authenticate(token=token)


def _unknown(kind: object, known: tuple[str, ...]) -> ProtocolError:
    if kind is None:
        return UnknownType(f"The frame has no type; expected one of {', '.join(known)}.")
    return UnknownType(f"Unknown frame type {str(kind)[:40]!r}; expected one of {', '.join(known)}.")


def _string(frame: dict[str, Any], name: str, *, required: bool, limit: int | None) -> str:
    value = frame.get(name, None if required else "")
    if not isinstance(value, str) or not is_storable_text(value):
        raise InvalidField(f"{name} must be a string of valid text, without NUL characters.")
    if limit is not None and len(value) > limit:
        raise TooLong(f"{name} is limited to {limit} characters.")
    return value


def _optional_string(frame: dict[str, Any], name: str, *, limit: int) -> str | None:
    value = frame.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or not is_storable_text(value):
        raise InvalidField(f"{name} must be text of at most {limit} characters, without NUL.")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_int(frame: dict[str, Any], name: str) -> int | None:
    value = frame.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidField(f"{name} must be a positive integer.")
    return value


def _int_list(frame: dict[str, Any], name: str, *, limit: int, required: bool = False) -> list[int]:
    value = frame.get(name)
    if value is None and not required:
        return []
    if not isinstance(value, list) or len(value) > limit or not all(_is_int(i) and i > 0 for i in value):
        raise InvalidField(f"{name} must be a list of at most {limit} positive integers.")
    return value


# --- Server frames of the protocol itself (domain events are built by messaging.events) --------------


def error(exc: ApplicationError, **extra: Any) -> dict[str, Any]:
    """The ``error`` frame for any application error: its class's code, its detail and extra fields."""
    return {"type": "error", "code": exc.code, "detail": exc.detail, **exc.extra, **extra}


def ack(*, client_id: str | None, message_id: int, seq: int) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "id": message_id, "seq": seq}


def reaction_ack(*, message_id: int, reactions: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``react`` frame was applied: the message's reactions now."""
    return {"type": "ack", "message_id": message_id, "reactions": reactions}


def auth_ok(*, exp: int | None) -> dict[str, Any]:
    """The answer to ``auth``: the socket now lives until ``exp`` (unix time; null: a token without one)."""
    return {"type": "auth_ok", "exp": exp}


def history(messages: list[dict[str, Any]], *, complete: bool = True) -> dict[str, Any]:
    return {"type": "history", "messages": messages, "complete": complete}


def resync(*, last_seq: int, latest_seq: int) -> dict[str, Any]:
    """Too much was missed to replay: the client pages the gap over REST (``after=last_seq``)."""
    return {"type": "resync", "last_seq": last_seq, "latest_seq": latest_seq}


def typing(*, user_id: int, username: str) -> dict[str, Any]:
    return {"type": "typing", "user": {"id": user_id, "username": username}}


def presence(*, user_id: int, username: str, display_name: str, online: bool) -> dict[str, Any]:
    user = {"id": user_id, "username": username, "display_name": display_name}
    return {"type": "presence", "user": user, "status": "online" if online else "offline"}


def query_params(scope: Mapping[str, object]) -> dict[str, str]:
    """The first value of each query-string parameter of a socket's scope (empty when undecodable)."""
    query = scope.get("query_string", b"")
    try:
        parsed = parse_qs(query.decode("ascii") if isinstance(query, bytes) else "")
    except UnicodeDecodeError:
        return {}
    return {key: values[0] for key, values in parsed.items()}
