"""The daphne floor: back_chat's broadcast as a bare ASGI application (no Django, no Channels) on daphne.

Same frames as bench/baseline_server.py, so the load generator drives it alike. It shows what daphne
(Twisted + autobahn) itself costs per delivery and per connection on this machine. Through ASGI the
project can approach this figure, never beat it, since it is served by daphne too; it beats it at
fan-out only because it writes broadcast frames straight to the connections, around ASGI.

Run: ``daphne -e tcp:port=8100:backlog=1024 bench.floor_server:application`` (the bench gives it the
listen backlog that chatsite.serve gives the project).
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import parse_qs

from bench.baseline_server import history, new_message, sender_for

sockets: list[Any] = []


async def broadcast(message: dict[str, Any]) -> None:
    text = json.dumps({"type": "message", "message": message}, separators=(",", ":"))
    for send in list(sockets):
        try:
            await send({"type": "websocket.send", "text": text})
        except Exception:
            if send in sockets:
                sockets.remove(send)


async def websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    query = parse_qs(scope.get("query_string", b"").decode())
    sender = sender_for(query.get("token", [""])[0])
    room = query.get("room", ["general"])[0]
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            sockets.append(send)
        elif event["type"] == "websocket.disconnect":
            if send in sockets:
                sockets.remove(send)
            return
        elif event["type"] == "websocket.receive":
            frame = json.loads(event.get("text") or "{}")
            client_id = frame.get("client_id")
            message = new_message(room=room, sender=sender, content=str(frame.get("content", "")), client_id=client_id)
            await broadcast(message)
            ack = {"type": "ack", "client_id": client_id, "id": message["id"], "seq": message["seq"]}
            await send({"type": "websocket.send", "text": json.dumps(ack, separators=(",", ":"))})


async def http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    status, payload = 200, cast(dict[str, Any], {"status": "ok"})
    if scope["path"].startswith("/api/v1/messages"):
        if scope["method"] == "POST":
            data = json.loads(body or b"{}")
            headers = dict(scope["headers"])
            token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ").strip()
            payload = new_message(
                room=str(data.get("room") or "general"),
                sender=sender_for(token),
                content=str(data.get("content", "")),
                client_id=data.get("client_id"),
            )
            await broadcast(payload)
            status = 201
        else:
            payload = {"results": list(history)[-50:], "next": None, "previous": None}
    raw = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": raw})


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await websocket(scope, receive, send)
    elif scope["type"] == "http":
        await http(scope, receive, send)
