"""The WSGI entry point behind the bundled proxy: the client's address from X-Forwarded-For, as daphne's
--proxy-headers takes it (throttles, presence ids and the /metrics allow-list read REMOTE_ADDR)."""

from __future__ import annotations

from typing import Any

import pytest

from chatsite.wsgi import forwarded_client


def seen(environ: dict[str, Any]) -> dict[str, Any]:
    captured: dict[str, Any] = {}

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        captured.update(env)
        return []

    forwarded_client(app)({"REMOTE_ADDR": "172.18.0.5", "REMOTE_PORT": "40000", **environ}, lambda *a: None)
    return captured


def test_the_first_forwarded_address_and_port_are_the_clients():
    env = seen({"HTTP_X_FORWARDED_FOR": "203.0.113.7, 10.0.0.1", "HTTP_X_FORWARDED_PORT": "51234"})

    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("203.0.113.7", "51234")


def test_ipv6_is_kept_canonical():
    assert seen({"HTTP_X_FORWARDED_FOR": "2001:DB8::1"})["REMOTE_ADDR"] == "2001:db8::1"


@pytest.mark.parametrize("header", [None, "", "unknown", "203.0.113.7:80", "<script>", "999.1.1.1"])
def test_without_a_usable_address_the_peer_stays(header):
    environ = {} if header is None else {"HTTP_X_FORWARDED_FOR": header, "HTTP_X_FORWARDED_PORT": "1"}

    env = seen(environ)

    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("172.18.0.5", "40000")


def test_an_odd_port_is_ignored():
    env = seen({"HTTP_X_FORWARDED_FOR": "203.0.113.7", "HTTP_X_FORWARDED_PORT": "80; drop"})

    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("203.0.113.7", "40000")
