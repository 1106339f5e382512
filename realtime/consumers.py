"""The two sockets: /ws/messages/ (one room) and /ws/notifications/ (everything personal).

What they share (authentication, limits, errors, the hub, how frames leave) is ``realtime.socketbase``;
here is what each one follows and which client frames it takes.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from channels.db import database_sync_to_async
from django.conf import settings

from core import metrics
from core.errors import InvalidField
from messaging import events, selectors, services
from messaging.models import Room
from realtime import lookups, protocol, replay_frames
from realtime.hub import Hub
from realtime.kernel import EphemeralFrame, closecodes, encode, publish_now
from realtime.ratelimit import Interval
from realtime.socketbase import ChatSocket
from users import api_tokens
from users.models import User

# Each frame of a long replay waits for the one before to leave the process; a client that does not
# read one in this long (under 420 kbit/s) is closed with 1013 and resumes from what it has read.
REPLAY_DRAIN_SECONDS = 10.0


class MessagesConsumer(ChatSocket):
    """``/ws/messages/?token=&room=&last_seq=``: one room's messages, typing, edits and deletions."""

    kind = "messages"
    room: Room
    typing_interval: Interval

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Live frames wait here while the replay is read, so the client sees history, then what followed.
        self.buffer: list[str] | None = None
        self.buffer_bytes = 0

    async def open(self, hub: Hub) -> bool:
        # An API token's id: its revocation closes the socket.
        self.token_id = cast("int | None", self.scope.get("token_id"))
        params = protocol.query_params(self.scope)
        room = await lookups.readable_room(self.user, params.get("room") or "general")
        if room is None:
            await self.close(code=closecodes.ROOM_UNREADABLE)
            return False
        self.room, self.room_id = room, room.pk
        self.typing_interval = Interval(settings.CHAT_TYPING_INTERVAL)
        last_seq = _cursor(params.get("last_seq"))
        self.buffer = []
        start = await hub.follow(self, room_id=room.pk, slug=room.slug)
        if last_seq is not None:
            # Always answered (empty when nothing was missed), so a client knows it is live.
            replay = await _replay(room, last_seq, start) if last_seq < start else [encode(protocol.history([]))]
            if not await self._send_replay(replay):
                return False
        elif params.get("last_seq") not in (None, ""):
            await self.send_frame(protocol.error(InvalidField("last_seq must be a non-negative integer.")))
        buffered, self.buffer = self.buffer, None
        for frame in buffered:
            await self.write(frame)
        return True

    async def _send_replay(self, frames: list[str]) -> bool:
        """Send a replay with one frame in memory at a time, as the client reads; False (closed with
        1013) when the client does not take a frame within REPLAY_DRAIN_SECONDS."""
        for index, frame in enumerate(frames):
            if index:
                self.handshake_finished()  # waiting on the client: no longer the server's work to bound
                try:
                    async with asyncio.timeout(REPLAY_DRAIN_SECONDS):
                        await self.drained()
                except TimeoutError:
                    self.too_slow()
                    return False
            await self.write(frame, paced=True)
        return True

    def direct(self) -> Any | None:
        return None if self.buffer is not None else self.fast_wire

    def deliver(self, frame: str) -> None:
        if self.buffer is None:
            super().deliver(frame)
            return
        self.buffer.append(frame)
        self.buffer_bytes += len(frame)
        if self.buffer_bytes > settings.CHAT_SLOW_READER_LIMIT:
            self.too_slow()  # the room talks faster than the client reads its replay

    async def handle(self, frame: dict[str, Any]) -> None:
        command = protocol.parse_messages_frame(frame)
        api_tokens.scope_check(self.scope.get("token_scopes"), "write")  # every client frame writes
        if isinstance(command, protocol.Typing):
            if self.typing_interval.ready():
                typing = protocol.typing(user_id=self.user_id, username=self.username)
                publish_now(EphemeralFrame(room_id=self.room.pk, frame=encode(typing)))
            return
        if isinstance(command, protocol.React):
            message = await _react(
                actor=self.user,
                message_id=command.message_id,
                emoji=command.emoji,
                added=command.added,
                room_id=self.room.pk,
            )
            await self.send_frame(protocol.reaction_ack(message_id=message.pk, reactions=message.reaction_summary))
            return
        result = await _send_message(
            sender=self.user,
            room=self.room,
            content=command.content,
            client_id=command.client_id,
            attachment_ids=command.attachments,
            reply_to_id=command.reply_to,
        )
        message = result.message
        if self.acknowledges(command):
            ack = protocol.ack(client_id=message.client_id or None, message_id=message.pk, seq=message.seq)
            await self.send_frame(ack)

    def acknowledges(self, command: protocol.SendMessage) -> bool:
        """Whether the sender gets an ``ack`` for this message (always on this path)."""
        return True


class NotificationsConsumer(ChatSocket):
    """``/ws/notifications/?token=``: notifications, unread counts and presence, on every device."""

    kind = "notifications"

    async def open(self, hub: Hub) -> bool:
        # An API token's id: its revocation closes the socket.
        self.token_id = cast("int | None", self.scope.get("token_id"))
        state = await _unread_state(self.user)
        self.unread = {room_id: count for room_id, (_slug, count) in state.items()}
        await hub.watch(self, {room_id: slug for room_id, (slug, _count) in state.items()})
        for slug, count in state.values():
            if count:
                await self.send_frame(events.unread(room_slug=slug, count=count))
        return True

    async def handle(self, frame: dict[str, Any]) -> None:
        command = protocol.parse_notifications_frame(frame)
        api_tokens.scope_check(self.scope.get("token_scopes"), "write")  # every client frame writes
        if isinstance(command, protocol.SendNotification):
            sent = await _send_notification(sender=self.user, to=command.to, title=command.title, body=command.body)
            await self.send_frame({"type": "ack", "sent": len(sent)})
            return
        updated = await _mark_read(user=self.user, ids=command.ids, everything=command.ids is None)
        await self.send_frame({"type": "ack", "updated": updated})


def _cursor(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


@database_sync_to_async
def _replay(room: Room, last_seq: int, upto: int) -> list[str]:
    """What followed ``last_seq`` up to ``upto`` as encoded ``history`` frames that each fit a WebSocket
    frame, or one ``resync`` frame when more than CHAT_REPLAY_LIMIT messages were missed (or a message
    alone would not fit)."""
    limit = settings.CHAT_REPLAY_LIMIT
    missed = [m for m in selectors.messages_after(room=room, after=last_seq, limit=limit + 1) if m.seq <= upto]
    frames = None
    if len(missed) <= limit:
        payloads = [events.message_payload(m, room_slug=room.slug) for m in missed]
        frames = replay_frames.history_frames(payloads, max_bytes=settings.CHAT_REPLAY_FRAME_BYTES)
    if frames is not None:
        return frames
    metrics.RESYNCS.inc()
    return [encode(protocol.resync(last_seq=last_seq, latest_seq=upto))]


@database_sync_to_async
def _unread_state(user: User) -> dict[int, tuple[str, int]]:
    # is_member and unread are annotations of room_list_for_user, which its QuerySet[Room] type does not carry.
    rooms = selectors.room_list_for_user(user=user).filter(is_member=True).values_list("pk", "slug", "unread")  # type: ignore[misc]
    return {pk: (slug, unread) for pk, slug, unread in rooms}


_send_message = database_sync_to_async(services.message_send)
_react = database_sync_to_async(services.reaction_set)
_send_notification = database_sync_to_async(services.notification_send)
_mark_read = database_sync_to_async(services.notifications_mark_read)
