"""The only place channel-layer group names are built.

Group names are plain ASCII (channels-redis allows ``[a-zA-Z0-9._-]``, under 100 characters), so ids,
never slugs or user input, go into them.
"""

from __future__ import annotations

EVERYONE = "chat.everyone"
_ROOM = "chat.room."
_USER = "chat.user."


def room(room_id: int) -> str:
    """Every process with a socket following this room (or counting its unread messages)."""
    return f"{_ROOM}{int(room_id)}"


def user(user_id: int) -> str:
    """Every process with a socket of this user (all their tabs and devices)."""
    return f"{_USER}{int(user_id)}"


def everyone() -> str:
    """Every process: presence changes and purges of all rooms."""
    return EVERYONE
