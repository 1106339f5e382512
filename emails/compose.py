"""The missed-message email itself: text and HTML, messages grouped by room, links into the page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from emails.kinds import EMAIL_KINDS
from emails.models import MissedMessage
from users.models import User

MESSAGES_PER_ROOM = 20
ROOMS_PER_EMAIL = 10
EXCERPT = 300


@dataclass
class Line:
    sender: str
    excerpt: str
    url: str
    what: str
    at: str


@dataclass
class RoomGroup:
    title: str
    url: str
    lines: list[Line] = field(default_factory=list)
    more: int = 0


def build(user: User, items: list[MissedMessage], *, unsubscribe_url: str) -> EmailMultiAlternatives:
    """One email for ``items`` (at least one), addressed to ``user``."""
    groups, more_rooms = _groups(items)
    context = {
        "user": user,
        "name": user.display_name or user.username,
        "groups": groups,
        "more_rooms": more_rooms,
        "count": len(items),
        "site_url": settings.CHAT_SITE_URL,
        "unsubscribe_url": unsubscribe_url,
    }
    email = EmailMultiAlternatives(
        subject=subject(items),
        body=render_to_string("emails/missed_messages.txt", context),
        to=[user.email],
        headers={
            # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs to the link.
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",  # RFC 3834: no vacation auto-replies to this
        },
    )
    email.attach_alternative(render_to_string("emails/missed_messages.html", context), "text/html")
    return email


def subject(items: list[MissedMessage]) -> str:
    names = list(dict.fromkeys(_sender(item) for item in items))
    shown = " and ".join(names) if len(names) <= 2 else f"{names[0]}, {names[1]} and {len(names) - 2} more"
    if len(items) == 1:
        item = items[0]
        if item.message.room.kind == "direct":
            return f"New direct message from {shown}"
        return f"{shown} {EMAIL_KINDS.get(item.kind, 'wrote')} in #{item.message.room.slug}"
    return f"{len(items)} unread messages from {shown}"


def page_url(room_slug: str, seq: int | None = None) -> str:
    """A link that opens the room in the web page (``/#/r/<slug>``), at a message when ``seq`` is given."""
    return f"{settings.CHAT_SITE_URL}/#/r/{room_slug}" + (f"/{seq}" if seq is not None else "")


def unsubscribe_url(token: str) -> str:
    return settings.CHAT_SITE_URL + reverse("emails:unsubscribe", args=[token])


def _groups(items: list[MissedMessage]) -> tuple[list[RoomGroup], int]:
    by_room: dict[int, RoomGroup] = {}
    for item in sorted(items, key=lambda i: (i.message.room.name.lower(), i.message.seq)):
        room = item.message.room
        group = by_room.get(room.pk)
        if group is None:
            group = by_room[room.pk] = RoomGroup(title=_room_title(item), url=page_url(room.slug, item.message.seq))
        if len(group.lines) >= MESSAGES_PER_ROOM:
            group.more += 1
            continue
        group.lines.append(
            Line(
                sender=_sender(item),
                excerpt=_excerpt(item.message.content),
                url=page_url(room.slug, item.message.seq),
                what=EMAIL_KINDS.get(item.kind, ""),
                at=f"{item.message.created_at:%Y-%m-%d %H:%M} UTC",
            )
        )
    groups = list(by_room.values())
    return groups[:ROOMS_PER_EMAIL], max(0, len(groups) - ROOMS_PER_EMAIL)


def _room_title(item: MissedMessage) -> str:
    room = item.message.room
    return f"Direct messages with {_sender(item)}" if room.kind == "direct" else f"#{room.slug}"


def _sender(item: MissedMessage) -> str:
    sender = item.message.sender
    return (sender.display_name or sender.username) if sender is not None else "Someone"


def _excerpt(content: str) -> str:
    text = re.sub(r"\s+", " ", content).strip()
    if not text:
        return "(a file)"
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"
