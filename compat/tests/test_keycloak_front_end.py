"""issue 15's "Done when": back_chat's original front end (keycloak-js, unchanged) against our slash-less
back_chat socket, with a stock Keycloak issuing RS256 access tokens (``aud: ["account"]``, the client id
in ``azp`` only). Two people chat for several token lifetimes (Keycloak's 300 s, the issue's 40 s,
shortened here to 2 s): both sockets stay open and every message reaches both, in order, once.

What the operator sets is the README's "Migrating from back_chat": CHAT_OIDC_ISSUER, CHAT_OIDC_AUDIENCE
(the client id), CHAT_OIDC_JWKS_URL; CHAT_OIDC_ACCEPT_AZP and CHAT_LEGACY_TOKEN_CHECK keep their defaults.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from realtime.tests.sockets import Client, open_socket
from users.tests.test_oidc import AUDIENCE, ISSUER, provider_token

pytestmark = pytest.mark.django_db(transaction=True)

LIFETIME = 2  # seconds (Keycloak's default is 300, the issue's scenario 40)
CHAT_SECONDS = 3 * LIFETIME


@pytest.fixture
def keycloak(settings, jwks, clock):
    settings.CHAT_OIDC_ISSUER = ISSUER
    settings.CHAT_OIDC_AUDIENCE = AUDIENCE
    settings.CHAT_OIDC_JWKS_URL = jwks.url
    settings.CHAT_OIDC_LEEWAY = 0  # the tokens really expire during the chat
    settings.CHAT_OIDC_ALGORITHMS = ["RS256"]
    return jwks


def keycloak_token(who: str) -> str:
    """An access token as a stock Keycloak realm issues it to the front end's client."""
    now = int(time.time())
    return provider_token(
        sub=f"kc-{who}",
        preferred_username=who,
        name=who.title(),
        email=f"{who}@example.test",
        aud=["account"],
        azp=AUDIENCE,
        iat=now,
        exp=now + LIFETIME,
        scope="openid profile email",
        realm_access={"roles": ["offline_access", "uma_authorization"]},
    )


def rest_get(path: str, token: str) -> tuple[int, object]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(path)
    return response.status_code, response.json()


async def messages_of(client: Client, count: int, timeout: float) -> list[dict]:
    """The next ``count`` back_chat-shaped messages, skipping connect/disconnect frames."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        frame = await client.frame(max(0.1, deadline - time.monotonic()))
        assert "type" not in frame or frame["type"] != "ack", "no ack for frames without client_id"
        if frame.get("mtype") == "message":
            seen.append(frame)
    return seen


async def test_two_people_chat_on_the_back_chat_socket_for_several_token_lifetimes(general_room, keycloak):
    ana_token, ben_token = keycloak_token("ana"), keycloak_token("ben")
    # The front end's first REST call (GET /v1/user-info) creates each local user on first sight.
    assert (await database_sync_to_async(rest_get)("/v1/user-info", ana_token))[0] == 200
    assert (await database_sync_to_async(rest_get)("/v1/user-info", ben_token))[0] == 200
    ana = await open_socket("/ws/messages", token=ana_token)
    ben = await open_socket("/ws/messages", token=ben_token)

    sent: list[str] = []
    started = time.monotonic()
    turn = 0
    while time.monotonic() - started < CHAT_SECONDS:
        speaker = (ana, ben)[turn % 2]
        text = f"message {turn} from {'ana' if turn % 2 == 0 else 'ben'}"
        frame = {"user_id": "null", "content": text, "timestamp": "2024-05-01T10:00:00.000Z", "mtype": "message"}
        await speaker.send_to(text_data=json.dumps(frame))
        sent.append(text)
        turn += 1
        await asyncio.sleep(0.25)
        # keycloak-js refreshes the token for REST calls; the socket keeps the one it opened with.
        if turn % 8 == 0:
            status, _ = await database_sync_to_async(rest_get)("/v1/messages", keycloak_token("ana"))
            assert status == 200

    assert time.monotonic() - started > LIFETIME + 1  # both handshake tokens expired meanwhile
    for client, me in ((ana, "ana"), (ben, "ben")):
        received = await messages_of(client, len(sent), timeout=5)
        assert [m["content"] for m in received] == sent  # all, in order, once
        assert [m["isMine"] for m in received] == [m["user_id"] == me for m in received]
    # The expired handshake token itself is refused over REST, as any expired token.
    assert (await database_sync_to_async(rest_get)("/v1/user-info", ana_token))[0] == 401
    for client in (ana, ben):
        await client.disconnect()
