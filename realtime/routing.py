"""WebSocket routes of the new protocol, and the application that serves them behind the origin policy
and query-string token authentication. Other apps (back_chat's ``compat``) bring their own routes;
``chatsite.asgi`` composes them, so realtime never imports them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels.routing import URLRouter
from django.urls import URLPattern, re_path

from realtime.consumers import MessagesConsumer, NotificationsConsumer
from realtime.middleware import OriginPolicy, QueryTokenAuthMiddleware


async def unknown_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Refuse the handshake of a path we do not serve (the client sees 403), without an error log."""
    await receive()
    await send({"type": "websocket.close", "code": 4404})


def socket_route(pattern: str, application: Any) -> URLPattern:
    """A WebSocket route: Django's ``re_path`` holding an ASGI application, as channels' URLRouter reads it."""
    route: URLPattern = re_path(pattern, application)
    return route


websocket_urlpatterns = [
    socket_route(r"^ws/messages/$", MessagesConsumer.as_asgi()),
    socket_route(r"^ws/notifications/$", NotificationsConsumer.as_asgi()),
]


def websocket_application(*route_lists: Iterable[URLPattern]) -> Any:
    """Every given route behind the origin policy and token authentication; any other path is refused."""
    routes = [route for routes in route_lists for route in routes]
    # The stub wants channels' own URLPattern subclass, a type-checking fiction re_path never returns.
    router = URLRouter([*routes, socket_route(r"", unknown_path)])  # type: ignore[list-item]
    return OriginPolicy(QueryTokenAuthMiddleware(router))
