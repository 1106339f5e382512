"""What both sockets (/ws/messages/ and /ws/notifications/, back_chat's paths too) share: authentication
close codes, rate limits, errors, hub registration, and how frames leave.

Consumers are thin: frames are parsed by ``realtime.protocol``, writes go through the same services as
REST (through database_sync_to_async), broadcasts arrive from the hub already serialized. A bad frame
gets an ``error`` frame and the socket stays usable; a consumer that fails anyway is closed with 1011
and always leaves the hub and presence (a crashed socket must not stay listed as connected).

Under daphne with the fast path on (``realtime.wire_fence``) the hub writes broadcasts to the connection
itself (``direct``). Otherwise every frame goes through ASGI ``send`` in order, via the socket's
``SendQueue``: the hub only queues (``deliver``), so a slow socket never stalls a broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, cast

from channels.exceptions import StopConsumer
from django.conf import settings

from core.errors import ApplicationError, ServerError
from messaging import limits
from realtime import presence, protocol, wire, wire_fence
from realtime.admission import AdmittedSocket
from realtime.hub import Hub, get_hub
from realtime.kernel import closecodes, encode_reply
from realtime.lifetime import TokenLifetime
from realtime.middleware import USER_GONE
from realtime.protocol_errors import TooManyFrames
from realtime.ratelimit import FloodGuard, TokenBucket
from realtime.sendqueue import SendQueue
from realtime.socketmetrics import MeteredSocket
from users.models import User

if TYPE_CHECKING:
    from asgiref.typing import WebSocketSendEvent

DRAIN_POLL_SECONDS = 0.02
# A slow reader's close frame waits behind what it has not read: this long to read up to it (and see
# 1013) before the connection is dropped. What it holds no longer grows meanwhile.
TOO_SLOW_GRACE_SECONDS = 5.0

logger = logging.getLogger(__name__)


class ChatSocket(TokenLifetime, AdmittedSocket, MeteredSocket):
    """The consumer side of ``realtime.hub.Socket``."""

    # The hub holds the process's only channel-layer subscription; a socket never reads the layer.
    channel_layer_alias = None  # type: ignore[assignment]  # channels reads None as "no layer"; the stub says str
    user: User
    user_id: int
    username, display_name, client = "", "", ""  # back_chat's client id, <user_id>@<ip>:<port>
    guard: FloodGuard

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hub: Hub | None = None
        self.room_id: int | None = None
        self.unread: dict[int, int] = {}
        self.registered = False
        self.wire: Any | None = None  # the daphne connection (closes, unsent bytes), when there is one
        self.fast_wire: Any | None = None  # ``wire`` when broadcasts are written to it directly
        self.closing_slow = False
        self.sendq = SendQueue(self._asgi_send, limit=settings.CHAT_SLOW_READER_LIMIT, after_send=self._check_backlog)
        self._expiry: asyncio.TimerHandle | None = None
        self.token_expires_at: float | None = None  # the exp of the token the socket lives on (TokenLifetime)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._forget()  # however the consumer ended: a crash or a cancellation included

    async def dispatch(self, message: Any) -> None:
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
        self.fast_wire = self.wire if wire_fence.socket_path(self.wire) else None
        if self.wire is not None:
            wire.close_on_protocol_errors(self.wire)
        await self.accept()  # accept first, so a browser can read the close code that follows
        user = self.scope.get("user")
        failure = self.scope.get("auth_failure")
        if failure or user is None or not user.is_authenticated:
            await self.close(code=closecodes.USER_GONE if failure in USER_GONE else closecodes.TOKEN_INVALID)
            return
        self.user = cast(User, user)  # what QueryTokenAuthMiddleware put there; the stub types channels' lazy one
        expires_at = self.scope.get("token_expires_at")
        self.token_expires_at = expires_at if isinstance(expires_at, int | float) else None
        self.user_id, self.username, self.display_name = user.pk, user.username, user.display_name
        self.client = presence.client_id(user.pk, self.scope.get("client"))
        self.guard = FloodGuard(
            TokenBucket(rate=settings.CHAT_SOCKET_RATE, burst=settings.CHAT_SOCKET_BURST),
            limit=settings.CHAT_SOCKET_FLOOD_LIMIT,
        )
        self.hub = hub = await get_hub()
        if not await hub.admit(self):
            await self.close(code=closecodes.TOO_MANY_SOCKETS)
            return
        try:
            opened = await self.open(hub)
        except Exception:
            logger.exception("Could not open a %s socket", self.kind)
            await hub.unregister(self)  # it may already follow a room
            await self.close(code=closecodes.SERVER_ERROR)
            return
        if opened:
            await hub.register(self)
            self.registered = True
            self._close_when_token_expires()

    async def open(self, hub: Hub) -> bool:
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
        self.sendq.close()
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
                await self.send_frame(protocol.error(TooManyFrames()))
            return
        frame: dict[str, Any] = {}
        try:
            frame = protocol.decode(text_data, max_bytes=settings.CHAT_MAX_FRAME_BYTES)
            if frame.get("type") == "auth":
                await self.renew(protocol.parse_auth_frame(frame))
            else:
                await self.handle(frame)
        except ApplicationError as exc:
            await self.send_frame(protocol.error(exc, **_echo(frame)))
        except StopConsumer:
            raise
        except Exception:
            logger.exception("Unexpected error handling a %s frame", self.kind)
            await self.send_frame(protocol.error(ServerError("The server could not handle this frame.")))

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.write(encode_reply(frame))

    async def write(self, text: str, *, paced: bool = False) -> None:
        """Send one of the socket's own frames (after whatever is queued), under the same slow-reader
        limit as broadcasts, unless the caller paces its frames itself (``drained``); a frame for a
        closing connection is dropped."""
        if self.wire is not None and not wire.is_open(self.wire):
            return
        await self.sendq.send({"type": "websocket.send", "text": text})
        if not paced:
            self._check_backlog()

    def deliver(self, frame: str) -> None:
        """A broadcast frame from the hub, serialized once for every recipient: queued, never awaited."""
        if self.wire is not None and not wire.is_open(self.wire):
            return
        if not self.sendq.offer(frame):
            self.too_slow()

    def direct(self) -> Any | None:
        """The daphne connection to write prepared broadcast frames to (None: ``deliver`` them)."""
        return self.fast_wire

    def too_slow(self) -> None:
        """The client reads slower than the room talks: close it rather than buffer without bound."""
        if not self.closing_slow:
            self.closing_slow = True
            logger.info("Closing a socket of user %s that fell too far behind", self.user_id)
            self.sendq.discard_broadcasts()
            asyncio.get_running_loop().create_task(self.close(code=closecodes.TOO_SLOW))

    def _check_backlog(self) -> None:
        """Under daphne, what the connection has not sent yet counts against the slow-reader limit."""
        if self.fast_wire is not None and wire.buffered_bytes(self.fast_wire) > settings.CHAT_SLOW_READER_LIMIT:
            self.too_slow()

    async def _asgi_send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send" and self.wire is not None and not wire.is_open(self.wire):
            return  # queued before the connection started closing
        # Looked up at each send: tests replace it on an open socket. asgiref's TypedDicts want both
        # ``text`` and ``bytes`` in a websocket.send; servers take either.
        await self.base_send(cast("WebSocketSendEvent", message))

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close with a protocol code, after the frames queued before. Under daphne a registered code
        (1011, 1013), which its ASGI close refuses, is sent by the connection itself (wire.send_close)."""
        self.closing_with(code)
        if self.wire is not None and isinstance(code, int) and code is not True and not wire.is_application_code(code):
            grace = TOO_SLOW_GRACE_SECONDS if code == closecodes.TOO_SLOW else None
            wire.send_close(self.wire, code, grace=grace)
            return
        message: dict[str, Any] = {"type": "websocket.close"}
        if code is not None and code is not True:
            message["code"] = code
        if reason:
            message["reason"] = reason
        await self.sendq.send(message)

    async def close_with(self, code: int) -> None:
        await self.close(code=code)

    async def drained(self) -> None:
        """Wait until everything written has left the process (daphne only; elsewhere at once)."""
        # Polled: Twisted's write buffer has no awaitable "drained" signal for an ASGI application.
        while self.fast_wire is not None and wire.is_open(self.fast_wire) and wire.buffered_bytes(self.fast_wire) > 0:  # noqa: ASYNC110
            await asyncio.sleep(DRAIN_POLL_SECONDS)


def _echo(frame: dict[str, Any]) -> dict[str, Any]:
    """The client_id of a refused frame, so the client knows which message failed (``send_frame``
    encodes with ``encode_reply``, which keeps any string encodable)."""
    client_id = frame.get("client_id")
    return {"client_id": client_id} if isinstance(client_id, str) and len(client_id) <= limits.CLIENT_ID else {}
