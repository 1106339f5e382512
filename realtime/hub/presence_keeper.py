"""This process's side of presence: admission against the socket caps, "online"/"offline" announced
once per user (first socket opening, last closing, anywhere), the heartbeat that keeps this process's
entries alive and sweeps dead processes', and retries of a store that just lost its connections."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from django.conf import settings

from core import metrics
from realtime import lookups, protocol
from realtime.hub.registry import Socket
from realtime.kernel import EveryoneFrame, encode, publish_now
from realtime.presence import Admission, PresenceBackend, address_of

logger = logging.getLogger(__name__)

T = TypeVar("T")


def announce(*, user_id: int, username: str, display_name: str, online: bool) -> None:
    """Tell every notification socket, in every process, that a user came or went."""
    frame = protocol.presence(user_id=user_id, username=username, display_name=display_name, online=online)
    publish_now(EveryoneFrame(kind="notifications", frame=encode(frame)))


class PresenceKeeper:
    def __init__(self, store: PresenceBackend, *, slots: asyncio.Semaphore) -> None:
        self.store = store
        self._slots = slots  # shared with the channel layer: concurrent Redis calls wait for a slot
        # Sockets counted against the caps (in presence and per address), from admission until they close,
        # each with whether it still owes its user's "online" (a first socket announces once registered).
        self.admitted: dict[Socket, bool] = {}
        self.addresses: Counter[str] = Counter()

    async def admit(self, socket: Socket) -> bool:
        """Count a new socket, before it subscribes to anything, against CHAT_MAX_SOCKETS_PER_IP (in this
        process) and CHAT_MAX_SOCKETS_PER_USER (in presence, across processes). False: over a cap, and
        nothing of the socket is kept."""
        address = address_of(socket.client)
        if address is not None:
            if self.addresses[address] >= settings.CHAT_MAX_SOCKETS_PER_IP:
                return False
            self.addresses[address] += 1  # before the await, so that concurrent handshakes see it
        admission = await self.call(
            self.store.admit, client=socket.client, user_id=socket.user_id, limit=settings.CHAT_MAX_SOCKETS_PER_USER
        )
        if admission is Admission.REFUSED:
            self._release_address(address)
            return False
        # An unreachable store (False) admits: a Redis outage must not lock everyone out.
        self.admitted[socket] = admission is Admission.FIRST
        return True

    def registered(self, socket: Socket) -> None:
        """The socket now receives: a user's first socket announces them online."""
        if self.admitted.get(socket):
            self.admitted[socket] = False
            self._announce(socket, online=True)

    async def release(self, socket: Socket) -> None:
        """Take a closed socket out of presence and the caps (if it was admitted)."""
        if socket not in self.admitted:
            return
        owed_online = self.admitted.pop(socket)
        self._release_address(address_of(socket.client))
        last = await self.call(self.store.remove, client=socket.client, user_id=socket.user_id)
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

    def _announce(self, socket: Socket, *, online: bool) -> None:
        announce(user_id=socket.user_id, username=socket.username, display_name=socket.display_name, online=online)

    async def beat(self) -> None:
        """Renew this process's entries (registering them again if they were lost) and announce the users
        of dead processes who have no socket left anywhere."""
        beat = await self.store.heartbeat()
        if not beat.was_registered:
            # Our entries were expired (a long pause) or wiped (a Redis restart): register them again.
            for socket in list(self.admitted):
                if await self.call(self.store.add, client=socket.client, user_id=socket.user_id):
                    self._announce(socket, online=True)
        metrics.PRESENCE_SWEEPS.inc()
        metrics.PRESENCE_SWEPT_USERS.inc(len(beat.offline_user_ids))
        names = await lookups.names_of(beat.offline_user_ids) if beat.offline_user_ids else {}
        for user_id in beat.offline_user_ids:
            username, display_name = names.get(user_id, ("", ""))
            announce(user_id=user_id, username=username, display_name=display_name, online=False)

    async def run(self, after_beat: Callable[[], Awaitable[None]]) -> None:
        """Every CHAT_PRESENCE_HEARTBEAT, ``beat``, then ``after_beat`` (the layer's recovery)."""
        while True:
            await asyncio.sleep(settings.CHAT_PRESENCE_HEARTBEAT)
            try:
                await self.beat()
                await after_beat()
            except Exception:
                logger.warning("Presence heartbeat failed", exc_info=True)

    async def call(self, method: Callable[..., Awaitable[T]], **kwargs: object) -> T | Literal[False]:
        """Call the store; one retry, since after a Redis restart every pooled connection fails once
        ("Connection lost") before redis-py replaces it, and a dropped ``remove`` would leave a closed
        socket listed as connected. The store's scripts are idempotent (HSETNX, HDEL), so a retry is
        safe. False when the store cannot be reached."""
        error: BaseException | None = None
        for _attempt in range(2):
            try:
                async with self._slots:
                    return await asyncio.wait_for(method(**kwargs), settings.CHAT_LAYER_TIMEOUT * 5)
            except TimeoutError as exc:  # a slow store is not helped by asking again
                error = exc
                break
            except Exception as exc:
                error = exc
        logger.warning("Presence store unreachable", exc_info=error)
        return False

    async def close(self) -> None:
        await self.store.close()
