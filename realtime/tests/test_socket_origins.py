"""The WebSocket Origin allow-list of full origins (CHAT_WS_ALLOWED_ORIGINS: scheme, host and port), and
today's behaviour when it is empty (the host among ALLOWED_HOSTS, any port)."""

from __future__ import annotations

import pytest

from realtime.middleware import origin_allowed
from realtime.tests.sockets import make_socket, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

FRONT_END = "https://chat.example.com:8443"


@pytest.fixture
def allow_list(settings):
    settings.CHAT_WS_ALLOWED_ORIGINS = [FRONT_END, "http://localhost:3000"]
    return settings


@pytest.mark.parametrize("origin", [FRONT_END, "https://CHAT.example.com:8443", "http://localhost:3000", None])
async def test_listed_origins_and_clients_without_one_are_let_in(general_room, user, allow_list, origin):
    client = await open_socket(user=user, origin=origin)

    await client.send(type="typing")
    assert (await client.frame())["type"] == "typing"
    await client.disconnect()


@pytest.mark.parametrize(
    "origin",
    [
        "https://chat.example.com:9443",  # a wrong port
        "https://chat.example.com",  # the default port is another port
        "http://chat.example.com:8443",  # the wrong scheme
        "http://localhost:8000",  # allowed by ALLOWED_HOSTS, but not listed: the list replaces the host rule
        "https://evil.example:8443",
        "null",
    ],
)
@pytest.mark.parametrize("path", ["/ws/messages/", "/ws/notifications", "/ws/messages"])
async def test_anything_else_is_refused_at_the_handshake(general_room, user, allow_list, origin, path):
    connected, code = await make_socket(path, user=user, origin=origin).connect()

    assert connected is False
    assert code == 4403


def test_by_default_the_host_decides_whatever_the_port(settings):
    assert settings.CHAT_WS_ALLOWED_ORIGINS == []
    settings.ALLOWED_HOSTS = ["chat.example.com"]

    assert origin_allowed("https://chat.example.com:8443")
    assert origin_allowed("http://chat.example.com:1234")
    assert not origin_allowed("https://other.example.com:8443")


def test_the_list_compares_full_origins(allow_list):
    assert origin_allowed("https://chat.example.com:8443")
    assert not origin_allowed("https://chat.example.com:8444")
    assert not origin_allowed("https://chat.example.com:8443/path")
    assert not origin_allowed("")
