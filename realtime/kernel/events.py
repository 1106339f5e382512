"""Typed real-time events: what domain code publishes and the hub routes.

Each event names its recipients (a room's followers, a user's sockets of a kind, everyone's sockets of
a kind) or an instruction for the hub (close sockets, reset an unread count, count a room for a user).
A frame is serialized once by its publisher (``encode``), so every recipient gets the same text.

Events cross processes through the channel layer, which carries msgpack-able dicts: ``to_wire()``
writes one, ``from_wire()`` reads it back through the registry of event classes keyed by ``NAME``.
A new event type is a class here (registered with ``@_registered``) and a handler in
``realtime.hub.router``; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self, TypeVar

from realtime.kernel import groups

Kind = Literal["messages", "notifications", "all"]
"""Which sockets of a user (or of everyone) a frame is for: ``/ws/messages/``, ``/ws/notifications/``
(back_chat's paths included), or both."""


class UnknownEvent(ValueError):
    """A wire message no registered event class reads (another version of the server sent it)."""


class Event:
    """Base of the events: frozen dataclasses with slots, each registered under its ``NAME``."""

    __slots__ = ()
    NAME: ClassVar[str]
    # Dataclass field -> key in the wire dict (short keys that tests and older processes read).
    WIRE: ClassVar[Mapping[str, str]]

    @property
    def group(self) -> str:
        """The channel-layer group of every process that may hold a recipient."""
        raise NotImplementedError

    def to_wire(self) -> dict[str, Any]:
        """A dict the channel layer can carry (msgpack): the event's name, its group and its fields."""
        message: dict[str, Any] = {"event": self.NAME, "group": self.group}
        for name, key in self.WIRE.items():
            message[key] = getattr(self, name)
        return message

    @classmethod
    def from_fields(cls, message: Mapping[str, Any]) -> Self:
        return cls(**{name: message[key] for name, key in cls.WIRE.items()})


_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def _registered(cls: E) -> E:
    if cls.NAME in _REGISTRY:
        raise ValueError(f"Two event classes are named {cls.NAME!r}")
    _REGISTRY[cls.NAME] = cls
    return cls


def from_wire(message: Mapping[str, Any]) -> Event:
    """The event a ``to_wire()`` dict describes; UnknownEvent for a name no class here has."""
    cls = _REGISTRY.get(message.get("event", ""))
    if cls is None:
        raise UnknownEvent(f"No event class is named {message.get('event')!r}")
    try:
        return cls.from_fields(message)
    except (KeyError, TypeError) as exc:
        raise UnknownEvent(f"A {cls.NAME!r} event without {exc}") from None


def event_types() -> dict[str, type[Event]]:
    """Every registered event class by name (tests, documentation)."""
    return dict(_REGISTRY)


@_registered
@dataclass(frozen=True, slots=True)
class RoomFrame(Event):
    """A frame to the sockets following a room. A new message carries its ``seq`` (the room's stream
    delivers in seq order and fills gaps from the database) and its ``sender``; other frames (edits,
    deletions, purges) are delivered as they come. Every new message may change readers' unread
    counts; ``changes_unread`` says that this frame without a seq does too (a deletion, a purge)."""

    NAME: ClassVar[str] = "room"
    WIRE: ClassVar[Mapping[str, str]] = {
        "room_id": "room",
        "frame": "frame",
        "seq": "seq",
        "sender": "sender",
        "changes_unread": "unread",
    }
    room_id: int
    frame: str
    seq: int | None = None
    sender: int | None = None
    changes_unread: bool = False

    @property
    def group(self) -> str:
        return groups.room(self.room_id)


@_registered
@dataclass(frozen=True, slots=True)
class EphemeralFrame(Event):
    """A frame to a room's followers that is worthless late (typing): never stored, never retried."""

    NAME: ClassVar[str] = "ephemeral"
    WIRE: ClassVar[Mapping[str, str]] = {"room_id": "room", "frame": "frame"}
    room_id: int
    frame: str

    @property
    def group(self) -> str:
        return groups.room(self.room_id)


@_registered
@dataclass(frozen=True, slots=True)
class UserFrame(Event):
    """A frame to every socket of ``kind`` of one user, on every device."""

    NAME: ClassVar[str] = "user"
    WIRE: ClassVar[Mapping[str, str]] = {"user_id": "user", "kind": "kind", "frame": "frame"}
    user_id: int
    kind: Kind
    frame: str

    @property
    def group(self) -> str:
        return groups.user(self.user_id)


@_registered
@dataclass(frozen=True, slots=True)
class EveryoneFrame(Event):
    """A frame to every socket of ``kind`` in every process (presence, a purge of every room);
    ``changes_unread``: every watched room's unread counts may have changed; ``except_users``: users whose
    sockets skip it (guests and banned users of a public room), on the wire only when set (old processes)."""

    NAME: ClassVar[str] = "everyone"
    WIRE: ClassVar[Mapping[str, str]] = {
        "kind": "kind", "frame": "frame", "changes_unread": "unread", "except_users": "except"
    }  # fmt: skip
    kind: Kind
    frame: str
    changes_unread: bool = False
    except_users: tuple[int, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        message = Event.to_wire(self)  # not super(): slots=True makes a new class
        if not self.except_users:
            del message["except"]
        return message

    @classmethod
    def from_fields(cls, message: Mapping[str, Any]) -> Self:
        return cls(message["kind"], message["frame"], message["unread"], tuple(message.get("except", ())))

    @property
    def group(self) -> str:
        return groups.everyone()


@_registered
@dataclass(frozen=True, slots=True)
class CloseUserSockets(Event):
    """Close a user's sockets with ``code``; with ``room_id``, only those following that room, and
    their notification sockets stop counting it (the user may no longer read it)."""

    NAME: ClassVar[str] = "close_user"
    WIRE: ClassVar[Mapping[str, str]] = {"user_id": "user", "code": "close", "room_id": "room"}
    user_id: int
    code: int
    room_id: int | None = None

    @property
    def group(self) -> str:
        return groups.user(self.user_id)


@_registered
@dataclass(frozen=True, slots=True)
class CloseTokenSockets(Event):
    """Close the sockets of a user that signed in with the API token ``token_id`` (it was revoked)."""

    NAME: ClassVar[str] = "close_token"
    WIRE: ClassVar[Mapping[str, str]] = {"user_id": "user", "token_id": "token", "code": "close"}
    user_id: int
    token_id: int
    code: int

    @property
    def group(self) -> str:
        return groups.user(self.user_id)


@_registered
@dataclass(frozen=True, slots=True)
class CloseRoomSockets(Event):
    """Close every socket following a room with ``code``; notification sockets stop counting it."""

    NAME: ClassVar[str] = "close_room"
    WIRE: ClassVar[Mapping[str, str]] = {"room_id": "room", "code": "close"}
    room_id: int
    code: int

    @property
    def group(self) -> str:
        return groups.room(self.room_id)


@_registered
@dataclass(frozen=True, slots=True)
class UnreadChanged(Event):
    """The user's unread count of a room is now ``count`` (they marked it read): every notification
    socket of theirs is told, and counts from there."""

    NAME: ClassVar[str] = "unread"
    WIRE: ClassVar[Mapping[str, str]] = {"user_id": "user", "room_id": "room", "room_slug": "slug", "count": "count"}
    user_id: int
    room_id: int
    room_slug: str
    count: int

    @property
    def group(self) -> str:
        return groups.user(self.user_id)


@_registered
@dataclass(frozen=True, slots=True)
class TrackRoom(Event):
    """The user joined a room: their notification sockets start counting its unread messages."""

    NAME: ClassVar[str] = "track"
    WIRE: ClassVar[Mapping[str, str]] = {"user_id": "user", "room_id": "room", "room_slug": "slug"}
    user_id: int
    room_id: int
    room_slug: str

    @property
    def group(self) -> str:
        return groups.user(self.user_id)
