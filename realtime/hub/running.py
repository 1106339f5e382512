"""One hub per event loop, started on first use (a server's loop, or each test's)."""

from __future__ import annotations

import asyncio
from typing import Any

from realtime.hub.hub import Hub

_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}
_starting: dict[asyncio.AbstractEventLoop, asyncio.Future[Hub]] = {}


async def get_hub() -> Hub:
    """The hub of the running event loop, started on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is not None:
        return hub
    if loop in _starting:
        return await _starting[loop]
    future: asyncio.Future[Hub] = loop.create_future()
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
