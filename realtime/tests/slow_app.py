"""The project's ASGI application plus ``GET /slow?seconds=N``, an HTTP request that stays in flight for N
seconds: the graceful-shutdown tests serve it (``python -m chatsite.serve realtime.tests.slow_app:application``)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from chatsite.asgi import application as chat_application


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http" or scope["path"] != "/slow":
        await chat_application(scope, receive, send)
        return
    seconds = float(parse_qs(scope["query_string"].decode()).get("seconds", ["1"])[0])
    await asyncio.sleep(seconds)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": f"slept {seconds}".encode()})
