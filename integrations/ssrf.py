"""Guarding outgoing requests against forgery: where a delivery may connect, decided on the resolved address.

The host is resolved once; every address it resolves to must be public, and the connection is made to
the address that was checked (never resolved again), so a DNS answer that changes between the check
and the connection (rebinding) cannot point a delivery at an internal service.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import InvalidField

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services (named for the log; all of them fall in a refused class anyway): AWS, GCP and
# Azure's, ECS's task metadata, AWS's IPv6 one, and Alibaba's in the shared (CGNAT) range.
METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")}


class RefusedTarget(InvalidField):
    """A webhook URL that deliveries may not be sent to."""

    code = "refused_target"
    default_detail = "This URL may not receive webhooks."


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``), and what to say in Host, SNI and the request line."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def refusal(address: Address) -> str | None:
    """Why deliveries may not go to ``address`` (None: they may). IPv4-mapped IPv6 is judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = [
        (address in METADATA, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    ]
    return next((reason for refused, reason in checks if refused), None)


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL deliveries may use, by its form only (no lookup): http(s),
    a host, no credentials; http only where CHAT_WEBHOOK_ALLOW_HTTP. RefusedTarget otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedTarget("url is not a valid URL.") from None
    allowed = {"https", "http"} if settings.CHAT_WEBHOOK_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed:
        raise RefusedTarget(f"url must use {' or '.join(sorted(allowed))}.")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise RefusedTarget("url needs a host and no credentials.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check_literal(host: str) -> None:
    """Refuse a host written as a forbidden IP address (at subscription time, before any lookup)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    reason = refusal(address)
    if reason and not settings.CHAT_WEBHOOK_ALLOW_PRIVATE:
        raise RefusedTarget(f"url points to {reason}.")


def resolve(url: str) -> Target:
    """Check ``url`` and resolve its host: every address must be allowed, and the first is used."""
    scheme, host, port, path = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise RefusedTarget(f"url's host could not be resolved: {error}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise RefusedTarget("url's host has no address.")
    if not settings.CHAT_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            reason = refusal(address)
            if reason:
                raise RefusedTarget(f"url's host resolves to {reason} ({address}).")
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
