"""The two sockets: /ws/messages/ (one room) and /ws/notifications/ (everything personal).

Consumers are thin: frames are parsed by ``realtime.protocol``, writes go through the same services as
REST (through database_sync_to_async), and broadcasts arrive from the process's hub already
serialized. A bad frame gets an ``error`` frame and the socket stays usable. A consumer that fails
anyway (in connect, receive or a send) is closed with 1011 and always leaves the hub and presence: a
crashed socket must not stay listed as connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from core.errors import ApplicationError, InvalidField, ServerError
from messaging import events, limits, selectors, services
from messaging.models import Room
from realtime import closecodes, groups, lookups, presence, protocol, wire
from realtime.hub import Hub, get_hub
from realtime.middleware import USER_GONE
from realtime.publish import encode, encode_reply, publish_frame_now
from realtime.ratelimit import FloodGuard, Interval, TokenBucket

DRAIN_POLL_SECONDS = 0.02
# Each frame of a long replay waits for the one before to leave the process; a client that does not
# read one in this long (under 420 kbit/s) is closed with 1013 and resumes from what it has read.
REPLAY_DRAIN_SECONDS = 10.0
# A slow reader's close frame waits behind what it has not read: this long to read up to it (and see
# 1013) before the connection is dropped. What it holds no longer grows meanwhile.
TOO_SLOW_GRACE_SECONDS = 5.0

logger = logging.getLogger(__name__)


class ChatSocket(AsyncWebsocketConsumer):
    """What both sockets share: authentication close codes, rate limits, errors, hub registration."""

    # The hub holds the process's only channel-layer subscription; a socket never reads the layer.
    channel_layer_alias = None
    kind = "all"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hub: Hub | None = None
        self.room_id: int | None = None
        self.unread: dict[int, int] = {}
        self.registered = False
        self.wire: Any | None = None
        self.closing_slow = False
        self._expiry: asyncio.TimerHandle | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._forget()  # however the consumer ended: a crash or a cancellation included

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch awaits close_old_connections through a thread hop before every handler;
        # database work here always goes through database_sync_to_async, which does that itself.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except StopConsumer:
            raise
        except Exception:
            logger.exception("A %s socket failed; closing it", self.kind)
            with contextlib.suppress(Exception):
                await self.close(code=closecodes.SERVER_ERROR)
            raise StopConsumer() from None

    async def connect(self) -> None:
        self.wire = wire.daphne_protocol(self.base_send)
        if self.wire is not None:
            wire.close_on_protocol_errors(self.wire)
        await self.accept()  # accept first, so a browser can read the close code that follows
        user = self.scope.get("user")
        failure = self.scope.get("auth_failure")
        if failure or user is None or not user.is_authenticated:
            await self.close(code=closecodes.USER_GONE if failure in USER_GONE else closecodes.TOKEN_INVALID)
            return
        self.user = user
        self.user_id, self.username, self.display_name = user.pk, user.username, user.display_name
        self.client = presence.client_id(user.pk, self.scope.get("client"))
        self.guard = FloodGuard(
            TokenBucket(rate=settings.CHAT_SOCKET_RATE, burst=settings.CHAT_SOCKET_BURST),
            limit=settings.CHAT_SOCKET_FLOOD_LIMIT,
        )
        self.hub = await get_hub()
        if not await self.hub.admit(self):
            await self.close(code=closecodes.TOO_MANY_SOCKETS)
            return
        try:
            opened = await self.open()
        except Exception:
            logger.exception("Could not open a %s socket", self.kind)
            await self.hub.unregister(self)  # it may already follow a room
            await self.close(code=closecodes.SERVER_ERROR)
            return
        if opened:
            await self.hub.register(self)
            self.registered = True
            self._close_when_token_expires()

    async def open(self) -> bool:
        """Subscribe to what this socket follows; False when the socket was closed instead."""
        raise NotImplementedError

    async def handle(self, frame: dict[str, Any]) -> None:
        raise NotImplementedError

    async def disconnect(self, code: int) -> None:
        await self._forget()

    async def _forget(self) -> None:
        """Leave the hub and presence (idempotent; never raises, it runs while the consumer ends)."""
        if self._expiry is not None:
            self._expiry.cancel()
        hub, self.hub = self.hub, None
        if hub is not None:
            try:
                await hub.unregister(self)
            except Exception:
                logger.exception("Could not unregister a %s socket", self.kind)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.registered:
            return
        if not self.guard.admit():
            if self.guard.flooding:
                await self.close(code=closecodes.FLOODING)
            else:
                await self.send_frame(protocol.error(protocol.TooManyFrames()))
            return
        frame: dict[str, Any] = {}
        try:
            frame = protocol.decode(text_data, max_bytes=settings.CHAT_MAX_FRAME_BYTES)
            await self.handle(frame)
        except ApplicationError as exc:
            await self.send_frame(protocol.error(exc, **self.echo(frame)))
        except StopConsumer:
            raise
        except Exception:
            logger.exception("Unexpected error handling a %s frame", self.kind)
            await self.send_frame(protocol.error(ServerError("The server could not handle this frame.")))

    @staticmethod
    def echo(frame: dict[str, Any]) -> dict[str, Any]:
        """The client_id of a refused message, so the client knows which one failed (send_frame keeps
        it encodable)."""
        client_id = frame.get("client_id")
        return {"client_id": client_id} if isinstance(client_id, str) and len(client_id) <= limits.CLIENT_ID else {}

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.write(encode_reply(frame))

    async def write(self, text: str, *, paced: bool = False) -> None:
        """Send a frame through ASGI (every frame that does not take the hub's direct path), under the
        same slow-reader limit as the direct path, unless the caller paces its frames itself (``drained``);
        a frame for a closing connection is dropped."""
        if self.wire is not None and not wire.is_open(self.wire):
            return
        await self.base_send({"type": "websocket.send", "text": text})
        if not paced and self.wire is not None and wire.buffered_bytes(self.wire) > settings.CHAT_SLOW_READER_LIMIT:
            self.too_slow()

    async def deliver(self, frame: str) -> None:
        """A broadcast frame from the hub, serialized once for every recipient."""
        await self.write(frame)

    def direct(self) -> Any | None:
        """The daphne connection to write prepared broadcast frames to (None: use ASGI send)."""
        return self.wire

    def too_slow(self) -> None:
        """The client reads slower than the room talks: close it rather than buffer without bound."""
        if not self.closing_slow:
            self.closing_slow = True
            logger.info("Closing a socket of user %s that fell too far behind", self.user_id)
            asyncio.get_running_loop().create_task(self.close(code=closecodes.TOO_SLOW))

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close with a protocol code. Under daphne a registered code (1011, 1013), which its ASGI close
        refuses, is sent as a close frame by the connection itself (realtime.wire.send_close)."""
        if self.wire is None or code is None or code is True or wire.is_application_code(code):
            await super().close(code=code, reason=reason)
            return
        grace = TOO_SLOW_GRACE_SECONDS if code == closecodes.TOO_SLOW else None
        wire.send_close(self.wire, code, grace=grace)

    async def close_with(self, code: int) -> None:
        await self.close(code=code)

    async def drained(self) -> None:
        """Wait until everything written has left the process (daphne only; elsewhere at once)."""
        # Polled: Twisted's write buffer has no awaitable "drained" signal for an ASGI application.
        while self.wire is not None and wire.is_open(self.wire) and wire.buffered_bytes(self.wire) > 0:  # noqa: ASYNC110
            await asyncio.sleep(DRAIN_POLL_SECONDS)

    def _close_when_token_expires(self) -> None:
        expires_at = self.scope.get("token_expires_at")
        if expires_at is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, expires_at - time.time())
        self._expiry = loop.call_later(delay, lambda: loop.create_task(self.close(code=closecodes.TOKEN_INVALID)))


class MessagesConsumer(ChatSocket):
    """``/ws/messages/?token=&room=&last_seq=``: one room's messages, typing, edits and deletions."""

    kind = "messages"

    async def open(self) -> bool:
        params = protocol.query_params(self.scope)
        room = await lookups.readable_room(self.user, params.get("room") or "general")
        if room is None:
            await self.close(code=closecodes.ROOM_UNREADABLE)
            return False
        self.room, self.room_id = room, room.pk
        self.typing_interval = Interval(settings.CHAT_TYPING_INTERVAL)
        last_seq = _cursor(params.get("last_seq"))
        # Live frames wait while the replay is read, so the client sees history, then what followed.
        self.buffer: list[str] | None = []
        self.buffer_bytes = 0
        start = await self.hub.follow(self, room_id=room.pk, slug=room.slug)
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
                try:
                    async with asyncio.timeout(REPLAY_DRAIN_SECONDS):
                        await self.drained()
                except TimeoutError:
                    self.too_slow()
                    return False
            await self.write(frame, paced=True)
        return True

    def direct(self) -> Any | None:
        return None if self.buffer is not None else self.wire

    async def deliver(self, frame: str) -> None:
        if self.buffer is None:
            await self.write(frame)
            return
        self.buffer.append(frame)
        self.buffer_bytes += len(frame)
        if self.buffer_bytes > settings.CHAT_SLOW_READER_LIMIT:
            self.too_slow()  # the room talks faster than the client reads its replay

    async def handle(self, frame: dict[str, Any]) -> None:
        command = protocol.parse_messages_frame(frame)
        if isinstance(command, protocol.Typing):
            if self.typing_interval.ready():
                typing = protocol.typing(user_id=self.user_id, username=self.username)
                publish_frame_now(
                    groups.room(self.room_id), typing, audience="messages", room=self.room_id, ephemeral=True
                )
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
        await self.send_frame(protocol.ack(client_id=message.client_id or None, message_id=message.pk, seq=message.seq))


class NotificationsConsumer(ChatSocket):
    """``/ws/notifications/?token=``: notifications, unread counts and presence, on every device."""

    kind = "notifications"

    async def open(self) -> bool:
        state = await _unread_state(self.user)
        self.unread = {room_id: count for room_id, (_slug, count) in state.items()}
        await self.hub.watch(self, {room_id: slug for room_id, (slug, _count) in state.items()})
        for slug, count in state.values():
            if count:
                await self.send_frame(events.unread(room_slug=slug, count=count))
        return True

    async def handle(self, frame: dict[str, Any]) -> None:
        command = protocol.parse_notifications_frame(frame)
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
        frames = protocol.history_frames(payloads, max_bytes=settings.CHAT_REPLAY_FRAME_BYTES)
    return frames if frames is not None else [encode(protocol.resync(last_seq=last_seq, latest_seq=upto))]


@database_sync_to_async
def _unread_state(user: Any) -> dict[int, tuple[str, int]]:
    rooms = selectors.room_list_for_user(user=user).filter(is_member=True).values_list("pk", "slug", "unread")
    return {pk: (slug, unread) for pk, slug, unread in rooms}


_send_message = database_sync_to_async(services.message_send)
_send_notification = database_sync_to_async(services.notification_send)
_mark_read = database_sync_to_async(services.notifications_mark_read)
