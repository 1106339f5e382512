"""WSGI entry point: the HTTP worker pool of the scaled deployment (gunicorn, chatsite/gunicorn_conf.py).

Behind the bundled nginx (DJANGO_BEHIND_PROXY) the peer is always the proxy, so the client's address
comes from X-Forwarded-For, as daphne's --proxy-headers takes it: the first address, which nginx
overwrites with the one it saw. Throttles, presence ids and the /metrics allow-list read REMOTE_ADDR.
Events this process commits reach the daphne processes' sockets through the channel layer
(``realtime.kernel.relay``): there is no hub here.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def forwarded_client(app: WSGIApp) -> WSGIApp:
    """``app`` with REMOTE_ADDR (and REMOTE_PORT) taken from the proxy's X-Forwarded-For (and -Port)."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        first = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        try:
            environ["REMOTE_ADDR"] = str(ipaddress.ip_address(first))
        except ValueError:
            pass  # no header, or not an address: the peer stays
        else:
            port = environ.get("HTTP_X_FORWARDED_PORT", "")
            if port.isdigit() and len(port) <= 5:
                environ["REMOTE_PORT"] = port
        return app(environ, start_response)

    return application


application: WSGIApp = get_wsgi_application()
if settings.BEHIND_PROXY:
    application = forwarded_client(application)
