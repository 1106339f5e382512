"""back_chat's socket paths (no trailing slash): its frames in and its message shape out
(``compat.consumers``), composed with the new protocol's routes by ``chatsite.asgi``."""

from __future__ import annotations

from django.urls import re_path

from compat.consumers import LegacyMessagesConsumer, LegacyNotificationsConsumer

websocket_urlpatterns = [
    re_path(r"^ws/messages$", LegacyMessagesConsumer.as_asgi()),
    re_path(r"^ws/notifications$", LegacyNotificationsConsumer.as_asgi()),
]
