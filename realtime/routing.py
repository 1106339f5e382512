"""WebSocket routes, wrapped in the origin policy and query-string token authentication."""

from channels.routing import URLRouter

websocket_urlpatterns: list = []

websocket_application = URLRouter(websocket_urlpatterns)
