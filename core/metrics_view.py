"""``GET /metrics``: the Prometheus exposition, for the addresses and the token the operator allows.

Guarded because it tells who is online in aggregate, how busy the service is and which views fail: a
request is served when its client address is in ``CHAT_METRICS_ALLOW`` (loopback only by default), or
when it carries ``Authorization: Bearer <CHAT_METRICS_TOKEN>`` (when one is set). Anyone else gets the
same 404 as an unknown path. The bundled nginx never forwards ``/metrics``: Prometheus scrapes each
replica directly on the private network (README "Metrics").
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.metrics import scrape_registry
from jobs.metrics import JobQueueCollector

_BEARER = "bearer "


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network) for network in allowed)


def address_allowed(address: str | None) -> bool:
    """Whether a client address is in CHAT_METRICS_ALLOW (IPv4-mapped IPv6 addresses count as IPv4)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(settings.CHAT_METRICS_ALLOW)))


def token_allowed(header: str) -> bool:
    token = settings.CHAT_METRICS_TOKEN
    if not token or header[: len(_BEARER)].lower() != _BEARER:
        return False
    return hmac.compare_digest(header[len(_BEARER) :].strip().encode(), token.encode())


def allowed(request: HttpRequest) -> bool:
    authorization = request.headers.get("Authorization", "")
    if authorization:
        return token_allowed(authorization)  # a scraper that sends a token is judged by it alone
    return address_allowed(request.META.get("REMOTE_ADDR"))


def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request) or request.method not in {"GET", "HEAD"}:
        raise Http404
    body = generate_latest(scrape_registry(JobQueueCollector()))
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
