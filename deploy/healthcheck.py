"""Container health check: exit 0 when GET <url> answers 200, 1 otherwise (standard library only).

Django refuses a Host header outside ALLOWED_HOSTS, and a replica only answers for the public name, so the
request carries the first name of DJANGO_ALLOWED_HOSTS instead of the address it connects to.
"""

from __future__ import annotations

import http.client
import os
import sys
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


def health_host(allowed_hosts: str | None) -> str:
    """The Host header to send: the first allowed name, a ``.example.com`` pattern as its bare domain."""
    first = next((item.strip() for item in (allowed_hosts or "").split(",") if item.strip()), "")
    first = first.lstrip(".")
    if not first or first == "*":
        return "localhost"
    return first


def check(url: str, *, host: str, timeout: float = 5.0) -> bool:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/", headers={"Host": host})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    return 0 if check(url, host=health_host(os.environ.get("DJANGO_ALLOWED_HOSTS"))) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
