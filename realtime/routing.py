"""WebSocket routes, wrapped in the origin policy and query-string token authentication."""

from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from django.urls import re_path

from realtime.compat import LegacyMessagesConsumer, LegacyNotificationsConsumer
from realtime.consumers import MessagesConsumer, NotificationsConsumer
from realtime.middleware import OriginPolicy, QueryTokenAuthMiddleware


async def unknown_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Refuse the handshake of a path we do not serve (the client sees 403), without an error log."""
    await receive()
    await send({"type": "websocket.close", "code": 4404})


websocket_urlpatterns = [
    re_path(r"^ws/messages/$", MessagesConsumer.as_asgi()),
    re_path(r"^ws/notifications/$", NotificationsConsumer.as_asgi()),
    # back_chat's paths (no trailing slash): its frames and message shape too, see realtime/compat.py.
    re_path(r"^ws/messages$", LegacyMessagesConsumer.as_asgi()),
    re_path(r"^ws/notifications$", LegacyNotificationsConsumer.as_asgi()),
    re_path(r"", unknown_path),
]

websocket_application = OriginPolicy(QueryTokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
