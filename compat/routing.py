"""back_chat's socket paths (no trailing slash): its frames in and its message shape out
(``compat.consumers``), composed with the new protocol's routes by ``chatsite.asgi``."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from compat.consumers import LegacyMessagesConsumer, LegacyNotificationsConsumer


def _socket_route(route: str, consumer: object) -> URLPattern:
    # Channels routes ASGI applications with Django's URL patterns, which django-stubs types for views.
    return re_path(route, consumer)  # type: ignore[call-overload]


websocket_urlpatterns = [
    _socket_route(r"^ws/messages$", LegacyMessagesConsumer.as_asgi()),
    _socket_route(r"^ws/notifications$", LegacyNotificationsConsumer.as_asgi()),
]
