"""The process's hub: one channel-layer subscription per process, fanning out to its local sockets.

A tutorial-style consumer joins groups itself, so every broadcast is read from the layer and
dispatched once per socket (a receive loop, a thread hop and a deserialization per recipient). Here
the process holds one layer channel, joins each group once (for as long as one of its sockets needs
it), receives each event once and hands the same pre-serialized frame to every local socket. Events
published in this process reach its own sockets without a round trip through Redis.

The hub also keeps delivery whole when the layer is not: room streams fill gaps from the database,
a periodic sync catches up rooms whose events were lost (a Redis restart, a dropped publish), groups
are re-joined on every heartbeat (a restarted Redis forgets them), and when the layer is down
messages are still stored and acknowledged, and delivered to this process's sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from messaging import events
from realtime import groups, lookups, outbox, presence, protocol
from realtime.process import PROCESS_ID
from realtime.publish import encode, publish_frame_now
from realtime.streams import Envelope, RoomStream, deliver_all

logger = logging.getLogger(__name__)


class Socket(Protocol):
    kind: str  # "messages" or "notifications"
    user_id: int
    username: str
    display_name: str
    client: str
    room_id: int | None
    unread: dict[int, int]

    def direct(self) -> Any | None: ...  # the daphne protocol to write prepared frames to, if any
    def too_slow(self) -> None: ...
    async def deliver(self, frame: str) -> None: ...
    async def close_with(self, code: int) -> None: ...


class Hub:
    """Registry of this process's sockets and its single subscription to the channel layer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        layer = get_channel_layer()
        # The in-memory layer reaches no other process; local delivery already covers this one.
        self.layer = None if layer is None or isinstance(layer, InMemoryChannelLayer) else layer
        self.layer_ok = True
        self.channel: str | None = None
        self.presence = presence.get_backend()
        self.streams: dict[int, RoomStream] = {}
        self.users: dict[int, set[Socket]] = defaultdict(set)
        self.sockets: set[Socket] = set()
        # Sockets counted against the caps (in presence and per address), from admission until they close,
        # each with whether it still owes its user's "online" (a first socket announces once registered).
        self.admitted: dict[Socket, bool] = {}
        self.addresses: Counter[str] = Counter()
        # Broadcasts to one kind of socket (presence to every notification socket) must not scan all
        # sockets: a burst of N first connections would cost O(N²).
        self.sockets_by_kind: dict[str, set[Socket]] = defaultdict(set)
        self.following: dict[tuple[int, int], int] = defaultdict(int)  # (user, room) -> message sockets
        self.joined: set[str] = set()
        self.group_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.rooms_of: dict[Socket, set[int]] = defaultdict(set)
        self.inbox: asyncio.Queue[Envelope] = asyncio.Queue()
        self.to_layer: asyncio.Queue[Envelope] = asyncio.Queue(maxsize=10_000)
        self.dirty_unread: set[tuple[Socket, int]] = set()
        self.tasks: list[asyncio.Task] = []
        # redis-py raises instead of waiting when its pool is exhausted (a connect burst would make
        # group_add fail and leave sockets deaf), so concurrent Redis calls wait for a slot here.
        self.redis_slots = asyncio.Semaphore(settings.CHAT_REDIS_CONCURRENCY)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        outbox.bind(self.loop, self.submit)
        spawn = self.loop.create_task
        self.tasks = [spawn(self._deliver_loop()), spawn(self._heartbeat_loop()), spawn(self._sync_loop()),
                      spawn(self._unread_loop())]  # fmt: skip
        if self.layer is not None:
            self.channel = await self.layer.new_channel("hub")
            await self._join(groups.everyone())
            self.tasks += [spawn(self._receive_loop()), spawn(self._publish_loop())]

    async def stop(self) -> None:
        outbox.unbind(self.loop)
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _done, stuck = await asyncio.wait(self.tasks, timeout=settings.CHAT_LAYER_TIMEOUT)
            for task in stuck:
                logger.warning("Hub task %s did not stop", task.get_coro())
        # A cancelled await leaves its database call running in the sync thread; wait for it.
        await database_sync_to_async(lookups.nothing)()
        if self.layer is not None and self.channel:
            for group in list(self.joined):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.layer.group_discard(group, self.channel), settings.CHAT_LAYER_TIMEOUT)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.presence.close(), settings.CHAT_LAYER_TIMEOUT)

    # --- sockets -----------------------------------------------------------------------------------

    async def admit(self, socket: Socket) -> bool:
        """Count a new socket, before it subscribes to anything, against CHAT_MAX_SOCKETS_PER_IP (in this
        process) and CHAT_MAX_SOCKETS_PER_USER (in presence, across processes). False: over a cap, and
        nothing of the socket is kept."""
        address = presence.address_of(socket.client)
        if address is not None:
            if self.addresses[address] >= settings.CHAT_MAX_SOCKETS_PER_IP:
                return False
            self.addresses[address] += 1  # before the await, so that concurrent handshakes see it
        admission = await self._presence_call(
            self.presence.admit, client=socket.client, user_id=socket.user_id, limit=settings.CHAT_MAX_SOCKETS_PER_USER
        )
        if admission is presence.Admission.REFUSED:
            self._release_address(address)
            return False
        # An unreachable store (False) admits: a Redis outage must not lock everyone out.
        self.admitted[socket] = admission is presence.Admission.FIRST
        return True

    async def register(self, socket: Socket) -> None:
        """Deliver to an admitted socket from now on: subscribe to its user's group; announce a first socket."""
        first_here = not self.users[socket.user_id]
        self.users[socket.user_id].add(socket)
        self.sockets.add(socket)
        self.sockets_by_kind[socket.kind].add(socket)
        if first_here:
            await self._join(groups.user(socket.user_id))
        if self.admitted.get(socket):
            self.admitted[socket] = False
            self._announce(socket, online=True)

    async def unregister(self, socket: Socket) -> None:
        """Forget a socket: its rooms always (even if it failed while opening), presence if admitted."""
        for room_id in list(self.rooms_of.get(socket, ())):
            await self.unsubscribe(socket, room_id)
        self.rooms_of.pop(socket, None)
        if socket in self.sockets:
            self.sockets.discard(socket)
            self.sockets_by_kind[socket.kind].discard(socket)
            self.users[socket.user_id].discard(socket)
            if not self.users[socket.user_id]:
                del self.users[socket.user_id]
                await self._leave(groups.user(socket.user_id))
        if socket not in self.admitted:
            return
        owed_online = self.admitted.pop(socket)
        self._release_address(presence.address_of(socket.client))
        last = await self._presence_call(self.presence.remove, client=socket.client, user_id=socket.user_id)
        if owed_online != last:
            # A first socket that closed before registering hands its "online" to the user's other sockets;
            # without others, nobody heard it was online and nobody needs to hear it left.
            self._announce(socket, online=owed_online)

    def _release_address(self, address: str | None) -> None:
        if address is None:
            return
        self.addresses[address] -= 1
        if self.addresses[address] <= 0:
            del self.addresses[address]

    async def unsubscribe(self, socket: Socket, room_id: int) -> None:
        """Stop delivering a room to a socket (and counting its unread messages for it)."""
        self.rooms_of.get(socket, set()).discard(room_id)
        self.dirty_unread.discard((socket, room_id))
        socket.unread.pop(room_id, None)
        stream = self.streams.get(room_id)
        if stream is None:
            return
        if socket in stream.followers:
            stream.followers.discard(socket)
            key = (socket.user_id, room_id)
            self.following[key] -= 1
            if self.following[key] <= 0:
                del self.following[key]
        stream.watchers.discard(socket)
        if stream.empty:
            await self._drop_stream(stream)

    async def follow(self, socket: Socket, *, room_id: int, slug: str) -> int:
        """Subscribe ``socket`` to a room; return the seq after which live delivery starts."""
        stream = await self._stream(room_id, slug)
        stream.followers.add(socket)
        self.rooms_of[socket].add(room_id)
        self.following[(socket.user_id, room_id)] += 1
        return stream.delivered

    async def watch(self, socket: Socket, rooms: dict[int, str]) -> None:
        """Count unread messages of ``rooms`` (id -> slug) for a notification socket."""
        for room_id, slug in rooms.items():
            (await self._stream(room_id, slug)).watchers.add(socket)
            self.rooms_of[socket].add(room_id)

    async def _stream(self, room_id: int, slug: str) -> RoomStream:
        while True:
            stream = self.streams.get(room_id)
            if stream is None:
                stream = RoomStream(
                    room_id=room_id, slug=slug, fetch=lookups.fetch_frames, on_message=self._count_unread
                )
                self.streams[room_id] = stream
                try:
                    # Subscribe first, then read where the room is: nothing committed after the read is missed.
                    await self._join(groups.room(room_id))
                    stream.start_at(await lookups.room_last_seq(room_id))
                except BaseException:
                    del self.streams[room_id]
                    stream.ready.set()  # wake the waiters; they find the stream gone and retry
                    raise
            await stream.ready.wait()
            if self.streams.get(room_id) is stream:
                return stream

    async def _drop_stream(self, stream: RoomStream) -> None:
        if self.streams.get(stream.room_id) is stream:
            del self.streams[stream.room_id]
            await self._leave(groups.room(stream.room_id))

    def _announce(self, socket: Socket, *, online: bool) -> None:
        frame = protocol.presence(
            user_id=socket.user_id, username=socket.username, display_name=socket.display_name, online=online
        )
        publish_frame_now(groups.everyone(), frame, audience="notifications")

    # --- events ------------------------------------------------------------------------------------

    def submit(self, envelope: Envelope) -> None:
        """An event committed in this process (called on the loop): local delivery now, others via the layer."""
        self.inbox.put_nowait(envelope)
        if self.layer is not None:
            try:
                self.to_layer.put_nowait(envelope)
            except asyncio.QueueFull:
                logger.warning("Channel layer backlog full: dropping an event for other processes")

    async def _deliver_loop(self) -> None:
        while True:
            envelope = await self.inbox.get()
            try:
                await self._route(envelope)
            except Exception:
                logger.exception("Failed to route an event to local sockets")

    async def _route(self, envelope: Envelope) -> None:
        group = envelope["group"]
        if envelope.get("close") is not None:
            await self._close(group, envelope["close"], envelope.get("room"))
            return
        if (room_id := groups.room_id_of(group)) is not None:
            stream = self.streams.get(room_id)
            for sockets, frame in stream.offer(envelope) if stream else ():
                await deliver_all(sockets, frame)
            return
        if envelope.get("track") is not None:
            # Subscribing reads the database: keep it off the delivery loop.
            self.loop.create_task(self._track(groups.user_id_of(group), envelope["track"], envelope["slug"]))
            return
        await deliver_all(self._audience(group, envelope), envelope["frame"])
        if envelope.get("unread_room") is not None:
            self._reset_unread(groups.user_id_of(group), envelope["unread_room"], envelope.get("unread_count", 0))

    def _audience(self, group: str, envelope: Envelope) -> set[Socket]:
        user_id = groups.user_id_of(group)
        audience = envelope.get("audience", "all")
        if user_id is None:
            return self.sockets if audience == "all" else self.sockets_by_kind.get(audience, set())
        sockets = self.users.get(user_id, set())
        return sockets if audience == "all" else {s for s in sockets if s.kind == audience}

    async def _close(self, group: str, code: int, room_id: int | None) -> None:
        """Close the sockets of a group; with ``room_id``, only those following that room, and the
        notification sockets stop counting it (the user may no longer read it)."""
        user_id = groups.user_id_of(group)
        sockets = self.users.get(user_id, set()) if user_id is not None else self.sockets
        for socket in list(sockets):
            if room_id is None or (socket.kind == "messages" and socket.room_id == room_id):
                await socket.close_with(code)
            elif socket.kind == "notifications":
                await self.unsubscribe(socket, room_id)

    async def _track(self, user_id: int | None, room_id: int, slug: str) -> None:
        """Start counting a room the user just joined, from its unread count once subscribed."""
        notification_sockets = [s for s in self.users.get(user_id, ()) if s.kind == "notifications"]
        if not notification_sockets:
            return
        try:
            for socket in notification_sockets:
                await self.watch(socket, {room_id: slug})
            count = await lookups.unread_count(user_id, room_id)
        except Exception:
            logger.warning("Could not start counting unread messages of room %s", room_id, exc_info=True)
            return
        for socket in notification_sockets:
            socket.unread[room_id] = count
            if count:
                self.dirty_unread.add((socket, room_id))

    # --- unread counts -----------------------------------------------------------------------------

    def _count_unread(self, stream: RoomStream, sender: int | None) -> None:
        for socket in stream.watchers:
            if socket.user_id != sender and not self.following.get((socket.user_id, stream.room_id)):
                socket.unread[stream.room_id] = socket.unread.get(stream.room_id, 0) + 1
                self.dirty_unread.add((socket, stream.room_id))

    def _reset_unread(self, user_id: int | None, room_id: int, count: int) -> None:
        for socket in self.users.get(user_id, ()):
            if socket.kind == "notifications":
                socket.unread[room_id] = count
                self.dirty_unread.discard((socket, room_id))

    async def _unread_loop(self) -> None:
        """Coalesce unread counts: at most one frame per socket and room per interval."""
        while True:
            await asyncio.sleep(settings.CHAT_UNREAD_INTERVAL)
            dirty, self.dirty_unread = self.dirty_unread, set()
            for socket, room_id in dirty:
                stream = self.streams.get(room_id)
                if stream is not None and socket in self.sockets:
                    frame = encode(events.unread(room_slug=stream.slug, count=socket.unread.get(room_id, 0)))
                    await deliver_all({socket}, frame)

    # --- the channel layer ---------------------------------------------------------------------------

    async def _join(self, group: str) -> None:
        self.joined.add(group)
        if self.layer is None or not self.channel:
            return
        # Joins and leaves of a group apply in call order and only while still wanted, so a leave
        # racing a new join can never strand this process outside a group it needs.
        async with self.group_locks[group]:
            if group in self.joined:
                await self._layer_call(self.layer.group_add(group, self.channel))

    async def _leave(self, group: str) -> None:
        self.joined.discard(group)
        if self.layer is None or not self.channel:
            return
        async with self.group_locks[group]:
            if group not in self.joined:
                await self._layer_call(self.layer.group_discard(group, self.channel))
                self.group_locks.pop(group, None)

    async def _layer_call(self, call: Any) -> bool:
        try:
            async with self.redis_slots:
                await asyncio.wait_for(call, settings.CHAT_LAYER_TIMEOUT)
        except Exception:
            self._layer_failed()
            return False
        return True

    def _layer_failed(self) -> None:
        if self.layer_ok:
            logger.warning("Channel layer unreachable: local delivery continues, other processes catch up later")
        self.layer_ok = False

    async def _receive_loop(self) -> None:
        backoff = 0.1
        while True:
            try:
                envelope = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._layer_failed()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                await self._recover()
                continue
            backoff = 0.1
            if envelope.get("origin") != PROCESS_ID:
                self.inbox.put_nowait(envelope)

    async def _recover(self) -> None:
        """Re-join every group (a restarted Redis forgot them, and memberships not renewed expire after
        CHAT_GROUP_EXPIRY) and catch up what was missed meanwhile."""
        joined = await asyncio.gather(*(self._layer_call(self.layer.group_add(g, self.channel)) for g in self.joined))
        if not all(joined):
            return
        if not self.layer_ok:
            logger.warning("Channel layer reachable again: groups re-joined, catching up from the database")
        self.layer_ok = True
        await self._sync_rooms()

    async def _publish_loop(self) -> None:
        """Forward events to other processes in order, retrying through an outage: messages would also
        reach them from the database, but closes, edits, deletions and notifications only this way."""
        while True:
            envelope = await self.to_layer.get()
            backoff = 0.05
            while not await self._layer_call(self.layer.group_send(envelope["group"], envelope)):
                if envelope.get("ephemeral"):
                    break  # a typing indicator is worthless late
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    # --- periodic work -------------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.CHAT_PRESENCE_HEARTBEAT)
            try:
                await self._heartbeat()
            except Exception:
                logger.warning("Presence heartbeat failed", exc_info=True)

    async def _heartbeat(self) -> None:
        beat = await self.presence.heartbeat()
        if not beat.was_registered:
            # Our entries were expired (a long pause) or wiped (a Redis restart): register them again.
            for socket in list(self.admitted):
                if await self._presence_call(self.presence.add, client=socket.client, user_id=socket.user_id):
                    self._announce(socket, online=True)
        names = await lookups.names_of(beat.offline_user_ids) if beat.offline_user_ids else {}
        for user_id in beat.offline_user_ids:
            username, display_name = names.get(user_id, ("", ""))
            frame = protocol.presence(user_id=user_id, username=username, display_name=display_name, online=False)
            publish_frame_now(groups.everyone(), frame, audience="notifications")
        if self.layer is not None:
            await self._recover()

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.CHAT_HUB_SYNC_INTERVAL)
            try:
                await self._sync_rooms()
            except Exception:
                logger.warning("Room catch-up failed", exc_info=True)

    async def _sync_rooms(self) -> None:
        """Deliver stored messages a stream has not seen (lost publishes): one query for all rooms."""
        if not self.streams:
            return
        latest = await lookups.rooms_last_seq(list(self.streams))
        for room_id, last_seq in latest.items():
            stream = self.streams.get(room_id)
            if stream is not None and last_seq > stream.delivered:
                await stream.catch_up(last_seq)

    async def _presence_call(self, method: Any, **kwargs: Any) -> bool:
        """Call the presence store; one retry, since after a Redis restart every pooled connection fails
        once ("Connection lost") before redis-py replaces it, and a dropped ``remove`` would leave a closed
        socket listed as connected. The store's scripts are idempotent (HSETNX, HDEL), so a retry is safe."""
        error: BaseException | None = None
        for _attempt in range(2):
            try:
                async with self.redis_slots:
                    return await asyncio.wait_for(method(**kwargs), settings.CHAT_LAYER_TIMEOUT * 5)
            except TimeoutError as exc:  # a slow store is not helped by asking again
                error = exc
                break
            except Exception as exc:
                error = exc
        logger.warning("Presence store unreachable", exc_info=error)
        return False


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}
_starting: dict[asyncio.AbstractEventLoop, asyncio.Future] = {}


async def get_hub() -> Hub:
    """The hub of the running event loop, started on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is not None:
        return hub
    if loop in _starting:
        return await _starting[loop]
    future: asyncio.Future = loop.create_future()
    _starting[loop] = future
    hub = Hub(loop)
    try:
        await hub.start()
    except BaseException as exc:
        future.set_exception(exc)
        del _starting[loop]
        raise
    _hubs[loop] = hub
    del _starting[loop]
    future.set_result(hub)
    return hub


async def stop_hub() -> None:
    """Stop the running loop's hub (tests, shutdown)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.stop()


class HubStarter:
    """ASGI wrapper that starts the hub on the server's loop before the first request, so events
    committed by HTTP requests are handed to the loop and never sent from a database thread."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if asyncio.get_running_loop() not in _hubs and scope.get("type") in {"http", "websocket"}:
            await get_hub()
        return await self.inner(scope, receive, send)
