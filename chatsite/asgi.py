"""ASGI entry point: Django for HTTP, the realtime and back_chat socket routes, the hub on the loop."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# Django must be set up before anything imports models (the WebSocket stack does).
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter  # noqa: E402

from chatsite.http import http_application  # noqa: E402
from compat import routing as compat_routing  # noqa: E402
from realtime import routing  # noqa: E402
from realtime.hub import HubStarter  # noqa: E402

websocket = routing.websocket_application(routing.websocket_urlpatterns, compat_routing.websocket_urlpatterns)
application = HubStarter(ProtocolTypeRouter({"http": http_application(), "websocket": websocket}))
