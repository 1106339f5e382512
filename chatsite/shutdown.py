"""Graceful shutdown of a daphne process (``chatsite.server.ChatServer``): what SIGTERM and SIGINT do.

Plain daphne stops the reactor on SIGTERM: every connection drops (clients see 1006 and cannot tell a
crash from a deploy), requests in flight are cancelled, and consumers are cancelled mid-cleanup. Here,
on the first SIGTERM or SIGINT:

1. the listening sockets close, so new connections go to another replica (the proxy's next upstream);
2. every open WebSocket is sent a close frame with **1012** ("service restart": reconnect, with
   ``last_seq``, elsewhere), again for any socket that opens meanwhile (a handshake already in flight);
3. HTTP requests in flight finish, their connections are not kept alive (``Connection: close``);
4. once nothing is in flight (closing handshakes done, consumers finished their cleanup: presence,
   the hub), or when the drain budget is spent, the reactor stops, and daphne cancels what is left;
   ``chatsite.serve`` then exits at once (``exit_now``).

The whole process exits within ``CHAT_SHUTDOWN_TIMEOUT`` (default 10 s, as gunicorn's
``graceful_timeout``): the drain gets that budget minus a margin for the rest of the exit, and a
watchdog ends the process at the budget should anything hang. A second signal stops at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from daphne.ws_protocol import WebSocketProtocol

from realtime import wire

logger = logging.getLogger(__name__)

SERVICE_RESTART = 1012  # RFC 6455's registered "service restart": the client reconnects, elsewhere
POLL_SECONDS = 0.05
# Kept for the exit itself (daphne cancelling what is left, the embedded job worker, metrics files).
EXIT_MARGIN_SECONDS = 1.5
# How long a client has to answer the close frame before its connection is dropped.
CLOSE_HANDSHAKE_SECONDS = 2.0


class GracefulShutdown:
    """Drains one daphne ``Server`` (its ``connections``) on the reactor, then stops the reactor."""

    def __init__(
        self,
        server: Any,
        reactor: Any,
        *,
        timeout: float,
        listening: Callable[[], list[Any]],
        exit_process: Callable[[int], None] = os._exit,
    ) -> None:
        self.server, self.reactor, self.timeout = server, reactor, timeout
        self.listening = listening  # the listening ports, to stop accepting
        self.exit_process = exit_process
        self.started_at: float | None = None
        self.closed_sockets = 0
        self._watchdog: threading.Timer | None = None

    @property
    def draining(self) -> bool:
        return self.started_at is not None

    def signalled(self, number: int, frame: Any = None) -> None:
        """The reactor's SIGTERM/SIGINT handler (runs in the signal handler: hand over to the reactor)."""
        self.reactor.callFromThread(self.begin, number)

    def begin(self, number: int | None = None) -> None:
        if self.draining:
            logger.warning("Second stop signal: stopping now")
            self._stop_reactor()
            return
        self.started_at = time.monotonic()
        logger.info(
            "Shutting down (signal %s): no new connections, open sockets closed with 1012, up to %.1f s to drain",
            number,
            self.timeout,
        )
        self._watchdog = threading.Timer(self.timeout, self._overdue)
        self._watchdog.daemon = True
        self._watchdog.start()
        for port in self.listening():
            try:
                port.stopListening()
            except Exception:
                logger.exception("Could not stop listening on %s", port)
        self._poll()

    def busy(self) -> list[Any]:
        """Connections still in flight: open WebSockets, requests being answered, applications that
        have not finished (a consumer's cleanup after its socket closed)."""
        busy = []
        for protocol, details in list(self.server.connections.items()):
            instance = details.get("application_instance")
            if not details.get("disconnected") or (instance is not None and not instance.done()):
                busy.append(protocol)
        return busy

    def _poll(self) -> None:
        busy = self.busy()
        for protocol in busy:
            if _is_websocket(protocol) and wire.is_open(protocol):
                wire.send_close(protocol, SERVICE_RESTART, grace=CLOSE_HANDSHAKE_SECONDS)
                self.closed_sockets += 1
        elapsed = time.monotonic() - (self.started_at or time.monotonic())
        budget = max(self.timeout - EXIT_MARGIN_SECONDS, self.timeout / 2)
        if not busy or elapsed >= budget:
            if busy:
                logger.warning("%d connections still in flight after %.1f s: stopping anyway", len(busy), elapsed)
            logger.info("Drained in %.2f s (%d sockets closed with 1012); stopping", elapsed, self.closed_sockets)
            self._stop_reactor()
            return
        self.reactor.callLater(POLL_SECONDS, self._poll)

    def _stop_reactor(self) -> None:
        if self.reactor.running:
            self.reactor.stop()

    def _overdue(self) -> None:
        """The watchdog: the process did not exit within CHAT_SHUTDOWN_TIMEOUT."""
        logger.error("Not stopped %.1f s after the signal: exiting now", self.timeout)
        logging.shutdown()
        self.exit_process(1)

    def exit_now(self) -> None:
        """End the process once the server has stopped and cleaned up after a signal.

        The interpreter's own finalization (the last garbage collection, with the finalizers of
        database pools and Redis connections) took 2 s after a load run and once a full minute, during
        which no thread runs, the watchdog included: nothing left needs it, so it is skipped.
        """
        self.cancel_watchdog()
        logger.info("Stopped %.2f s after the signal", time.monotonic() - (self.started_at or time.monotonic()))
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        self.exit_process(0)

    def cancel_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()


def _is_websocket(protocol: Any) -> bool:
    return isinstance(protocol, WebSocketProtocol)
