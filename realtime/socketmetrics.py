"""What every socket reports about itself: its connection id on every log line of its task, and the
socket metrics (handshakes accepted, closes by code) — kept out of ``realtime.socketbase``, which is
about the protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.generic.websocket import AsyncWebsocketConsumer

from core import metrics, request_context
from realtime.kernel import closecodes

if TYPE_CHECKING:
    from asgiref.typing import WebSocketDisconnectEvent

# The protocol's own close codes are labels of their own in chat_socket_closes_total; a code a client
# chose (any of 3000-4999) is "other", so the label set stays bounded.
CLOSE_CODES = frozenset(value for name, value in vars(closecodes).items() if name.isupper() and isinstance(value, int))


class MeteredSocket(AsyncWebsocketConsumer):
    kind = "all"
    close_code: int | None = None  # the first code this side closed with (``closing_with``)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # The consumer runs in a task of its own: every log line of it, and of the threads it hops to
        # (asgiref copies the context), names the connection.
        request_context.connection_id.set(request_context.new_id()[:16])
        await super().__call__(scope, receive, send)

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        metrics.SOCKET_CONNECTS.labels(kind=self.kind).inc()

    def closing_with(self, code: object) -> None:
        """Note the code this side closes with: the client's echo of it may differ, or never come."""
        if self.close_code is None and isinstance(code, int) and not isinstance(code, bool):
            self.close_code = code

    async def websocket_disconnect(self, message: WebSocketDisconnectEvent) -> None:
        code = metrics.close_code_label(self.close_code or message.get("code"), CLOSE_CODES)
        metrics.SOCKET_CLOSES.labels(kind=self.kind, code=code).inc()
        await super().websocket_disconnect(message)
