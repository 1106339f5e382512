"""The real-time kernel: what domain code needs to make sockets hear about a change.

Services build a typed event (``realtime.kernel.events``) with a frame serialized once (``encode``)
and ``publish`` it; the hub and the consumers (the transport) do the rest. The kernel imports no app
(users, messaging, compat) and nothing of realtime's transport; they import it.
"""

from realtime.kernel import closecodes, groups
from realtime.kernel.encoding import encode, encode_reply
from realtime.kernel.events import (
    CloseRoomSockets,
    CloseTokenSockets,
    CloseUserSockets,
    EphemeralFrame,
    Event,
    EveryoneFrame,
    Kind,
    RoomFrame,
    TrackRoom,
    UnreadChanged,
    UserFrame,
    from_wire,
)
from realtime.kernel.publish import publish, publish_now

__all__ = [
    "CloseRoomSockets",
    "CloseTokenSockets",
    "CloseUserSockets",
    "EphemeralFrame",
    "Event",
    "EveryoneFrame",
    "Kind",
    "RoomFrame",
    "TrackRoom",
    "UnreadChanged",
    "UserFrame",
    "closecodes",
    "encode",
    "encode_reply",
    "from_wire",
    "groups",
    "publish",
    "publish_now",
]
