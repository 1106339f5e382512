"""The baseline: back_chat's broadcast design on FastAPI + uvicorn, speaking the project's frames.

back_chat keeps a Python list of connected sockets and, for every frame received, serializes once and
awaits ``send_text`` on each socket in turn; the token in the query string is taken on trust. This
server does the same, with the project's frame shapes (message + ack, REST POST/GET), so the load
generator drives both targets alike and the ratio between them is the price of the project's design
(authentication, storage before broadcast, the channel layer), not of a different protocol.

Run: ``uvicorn bench.baseline_server:app --port 8100``.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

HISTORY_SIZE = 1000

app = FastAPI(title="back_chat baseline")
connections: list[WebSocket] = []
history: deque[dict[str, Any]] = deque(maxlen=HISTORY_SIZE)
_message_ids = itertools.count(1)
_room_seq: dict[str, itertools.count[int]] = {}
_user_ids: dict[str, int] = {}


def sender_for(token: str) -> dict[str, Any]:
    """A user derived from the token without any check, as back_chat did with its query parameter."""
    user_id = _user_ids.setdefault(token, len(_user_ids) + 1)
    return {"id": user_id, "username": token, "display_name": token}


def new_message(*, room: str, sender: dict[str, Any], content: str, client_id: str | None) -> dict[str, Any]:
    """Build and keep a message shaped like the project's (id, per-room seq, sender, attachments)."""
    seq = next(_room_seq.setdefault(room, itertools.count(1)))
    message = {
        "id": next(_message_ids),
        "seq": seq,
        "room": room,
        "sender": sender,
        "content": content,
        "created_at": datetime.now(UTC).isoformat(),
        "edited_at": None,
        "client_id": client_id,
        "attachments": [],
    }
    history.append(message)
    return message


async def broadcast(message: dict[str, Any]) -> None:
    """One json.dumps, then send_text to every socket in turn (back_chat's ConnectionManager.broadcast)."""
    text = json.dumps({"type": "message", "message": message}, separators=(",", ":"))
    for websocket in list(connections):
        try:
            await websocket.send_text(text)
        except Exception:  # a socket closing mid-broadcast must not stop delivery to the others
            if websocket in connections:
                connections.remove(websocket)


async def _error(websocket: WebSocket, code: str, detail: str) -> None:
    await websocket.send_text(json.dumps({"type": "error", "code": code, "detail": detail}))


@app.websocket("/ws/messages/")
@app.websocket("/ws/messages")
async def messages_socket(websocket: WebSocket, token: str = Query(""), room: str = Query("general")) -> None:
    await websocket.accept()
    sender = sender_for(token)
    connections.append(websocket)
    try:
        while True:
            try:
                frame = json.loads(await websocket.receive_text())
            except ValueError:
                await _error(websocket, "invalid_json", "Frames must be JSON.")
                continue
            if not isinstance(frame, dict) or frame.get("type") != "message":
                await _error(websocket, "unknown_type", "Only message frames are handled here.")
                continue
            client_id = frame.get("client_id")
            message = new_message(room=room, sender=sender, content=str(frame.get("content", "")), client_id=client_id)
            await broadcast(message)
            ack = {"type": "ack", "client_id": client_id, "id": message["id"], "seq": message["seq"]}
            await websocket.send_text(json.dumps(ack, separators=(",", ":")))
    except WebSocketDisconnect:
        pass
    finally:
        if websocket in connections:
            connections.remove(websocket)


async def post_message(request: Request) -> JSONResponse:
    body = await request.json()
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    message = new_message(
        room=str(body.get("room") or "general"),
        sender=sender_for(token),
        content=str(body.get("content", "")),
        client_id=body.get("client_id"),
    )
    await broadcast(message)
    return JSONResponse(message, status_code=201)


async def list_messages(limit: int = Query(10, ge=1, le=100)) -> dict[str, Any]:
    return {"results": list(history)[-limit:], "next": None, "previous": None}


# back_chat's paths, and the project's, so the REST scenario can use either.
for path in ("/messages", "/api/v1/messages/"):
    app.add_api_route(path, post_message, methods=["POST"])
    app.add_api_route(path, list_messages, methods=["GET"])


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"database": "ok", "channel_layer": "ok"}
