"""The project's ASGI application plus ``GET /slow?seconds=N``, an HTTP request that stays in flight for N
seconds, and ``/ws/stall/?seconds=N``, a WebSocket handshake the application answers (accepts) only after N
seconds: the graceful-shutdown and handshake-cap tests serve it (``python -m chatsite.serve
realtime.tests.slow_app:application``)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from chatsite.asgi import application as chat_application


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket" and scope["path"] == "/ws/stall/":
        await receive()  # websocket.connect
        await asyncio.sleep(_seconds(scope))
        await send({"type": "websocket.accept"})
        await receive()  # until the client goes
        return
    if scope["type"] != "http" or scope["path"] != "/slow":
        await chat_application(scope, receive, send)
        return
    seconds = _seconds(scope)
    await asyncio.sleep(seconds)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": f"slept {seconds}".encode()})


def _seconds(scope: dict[str, Any]) -> float:
    return float(parse_qs(scope["query_string"].decode()).get("seconds", ["1"])[0])
