"""ASGI entry point: Django for HTTP, the realtime routes for WebSockets, the hub on the loop."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# Django must be set up before anything imports models (the WebSocket stack does).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from realtime.hub import HubStarter  # noqa: E402
from realtime.routing import websocket_application  # noqa: E402

application = HubStarter(ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application}))
