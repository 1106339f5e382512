"""Signing in with an OpenID Connect provider's access tokens, against a real JWKS served over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import IntegrityError
from rest_framework.test import APIClient

from users import oidc
from users.models import ExternalIdentity, User
from users.tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"
ISSUER = "https://sso.example.test/realms/chat"
AUDIENCE = "chat-api"
TTL = 3600
MIN_INTERVAL = 60
_PEM = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = _private_key()
OTHER_KEY = _private_key()
NEW_KEY = _private_key()


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", "alg": "RS256"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "0b6c6f5e-provider-ana",
        "iat": now,
        "exp": now + 300,
        "typ": "Bearer",
        "preferred_username": "ana",
        "email": "ana@example.test",
        "email_verified": True,
        "name": "Ana García",
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def provider_token(key: rsa.RSAPrivateKey = KEY, *, kid: str = "k1", alg: str = "RS256", **overrides: Any) -> str:
    """An access token as the provider would sign it; ``name=None`` drops a claim."""
    return jwt.encode(claims(**overrides), key, algorithm=alg, headers={"kid": kid})


def unsigned_token(alg: Any, secret: bytes = b"") -> str:
    """A token with a hand-made header, for the forgeries PyJWT itself refuses to produce."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": "k1"}).encode())
    payload = _b64(json.dumps(claims()).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = _b64(hmac.new(secret, signing_input, hashlib.sha256).digest()) if secret else ""
    return f"{header}.{payload}.{signature}"


class JwksServer(ThreadingHTTPServer):
    """Serves ``document`` as the provider's JWKS and counts downloads."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _JwksHandler)
        self.document: dict[str, Any] = {"keys": [_jwk(KEY, "k1")]}
        self.fetches = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/realms/chat/protocol/openid-connect/certs"


class _JwksHandler(BaseHTTPRequestHandler):
    server: JwksServer

    def do_GET(self) -> None:
        self.server.fetches += 1
        body = json.dumps(self.server.document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    oidc.reset_jwks_cache(clock=fake)
    yield fake
    oidc.reset_jwks_cache()


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def provider(settings, jwks, clock) -> JwksServer:
    settings.CHAT_OIDC_ISSUER = ISSUER
    settings.CHAT_OIDC_AUDIENCE = AUDIENCE
    settings.CHAT_OIDC_JWKS_URL = jwks.url
    settings.CHAT_OIDC_JWKS_TTL = TTL
    settings.CHAT_OIDC_JWKS_MIN_INTERVAL = MIN_INTERVAL
    settings.CHAT_OIDC_LEEWAY = 30
    settings.CHAT_OIDC_ALGORITHMS = ["RS256"]
    return jwks


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/certs"


def assert_refused(response, code: str = "token_not_valid") -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# --- Signing in -------------------------------------------------------------------------------------


def test_a_valid_token_signs_in_and_creates_one_local_user(provider):
    response = bearer(provider_token()).get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == "ana"
    assert response.json()["display_name"] == "Ana García"
    user = User.objects.get(username="ana")
    assert user.email == "ana@example.test"
    assert not user.has_usable_password()
    identity = ExternalIdentity.objects.get()
    assert (identity.issuer, identity.subject, identity.user_id) == (ISSUER, "0b6c6f5e-provider-ana", user.pk)
    assert provider.fetches == 1


def test_a_second_request_reuses_the_user_and_the_cached_keys(provider):
    first = bearer(provider_token()).get(ME)
    second = bearer(provider_token()).get(ME)

    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert User.objects.count() == 1
    assert ExternalIdentity.objects.count() == 1
    assert provider.fetches == 1


def test_the_subject_keeps_its_account_when_the_provider_renames_it(provider):
    first = bearer(provider_token()).get(ME).json()

    renamed = bearer(provider_token(preferred_username="ana.renamed", name="Ana R")).get(ME).json()

    assert renamed["id"] == first["id"]
    assert renamed["username"] == "ana"
    assert User.objects.count() == 1


def test_a_provider_user_named_like_a_local_user_gets_a_separate_account(provider):
    local = make_user("ana", email="ana@local.test", display_name="Local Ana")
    local_password = local.password

    response = bearer(provider_token()).get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == "ana-2"
    assert response.json()["id"] != local.pk
    local.refresh_from_db()
    assert (local.username, local.email, local.display_name, local.password) == (
        "ana",
        "ana@local.test",
        "Local Ana",
        local_password,
    )
    assert not local.external_identities.exists()
    assert APIClient().post("/api/v1/auth/token/", {"username": "ana", "password": PASSWORD}).status_code == 200


def test_free_usernames_are_found_case_insensitively_and_in_sequence(provider):
    make_user("Ana")
    make_user("ana-2")

    response = bearer(provider_token(sub="another-subject", preferred_username="ANA")).get(ME)

    assert response.json()["username"] == "ANA-3"


def test_unsafe_or_missing_names_become_valid_usernames(provider):
    spaced = bearer(provider_token(sub="s1", preferred_username="Ana María / ops")).get(ME).json()
    from_email = bearer(provider_token(sub="s2", preferred_username=None, email="zoe@example.test")).get(ME).json()
    nameless = bearer(provider_token(sub="s3", preferred_username=None, email=None, name=None)).get(ME).json()

    assert spaced["username"] == "Ana-María-ops"
    assert from_email["username"] == "zoe"
    assert nameless["username"] == "user"
    assert nameless["display_name"] == ""


def test_an_email_the_provider_says_is_unverified_is_not_copied(provider):
    bearer(provider_token(email_verified=False)).get(ME)

    assert User.objects.get(username="ana").email == ""


def test_a_deactivated_local_user_is_refused(provider):
    bearer(provider_token()).get(ME)
    User.objects.filter(username="ana").update(is_active=False)

    assert_refused(bearer(provider_token()).get(ME), code="user_inactive")


def test_a_concurrent_first_sign_in_reuses_the_identity_it_created(provider, monkeypatch):
    winner = make_user("winner")
    ExternalIdentity.objects.create(user=winner, issuer=ISSUER, subject="0b6c6f5e-provider-ana")
    real_find = oidc._find_identity
    calls = []

    def find_after_losing_the_race(**kwargs: str) -> ExternalIdentity | None:
        calls.append(kwargs)
        return None if len(calls) == 1 else real_find(**kwargs)

    monkeypatch.setattr(oidc, "_find_identity", find_after_losing_the_race)

    login = oidc.oidc_authenticate(provider_token())

    assert login is not None
    assert login.user == winner
    assert len(calls) == 2
    assert set(User.objects.values_list("username", flat=True)) == {"winner"}


def test_an_integrity_error_on_the_identity_rolls_back_the_new_user(provider, monkeypatch):
    def collide(**kwargs: Any) -> None:
        raise IntegrityError("unique_external_identity")

    monkeypatch.setattr(ExternalIdentity.objects, "create", collide)

    with pytest.raises(oidc.OidcAuthenticationFailed):
        oidc.oidc_authenticate(provider_token())

    assert not User.objects.exists()


# --- Refused tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_token", "detail"),
    [
        pytest.param(lambda: provider_token(exp=int(time.time()) - 120), "expired", id="expired"),
        pytest.param(lambda: provider_token(aud="another-client"), "not valid", id="wrong-audience"),
        pytest.param(lambda: provider_token(aud=None), "not valid", id="no-audience"),
        pytest.param(lambda: provider_token(OTHER_KEY), "not valid", id="signed-by-another-key"),
        pytest.param(lambda: unsigned_token("none"), "algorithm is not allowed", id="alg-none"),
        pytest.param(
            lambda: unsigned_token("HS256", KEY.public_key().public_bytes(*_PEM)),
            "algorithm is not allowed",
            id="hs256-signed-with-the-public-key",
        ),
        pytest.param(lambda: unsigned_token(["RS256"]), "algorithm is not allowed", id="alg-not-a-string"),
        pytest.param(lambda: provider_token(sub=None), "not valid", id="missing-sub"),
        pytest.param(lambda: provider_token(sub=" "), "no usable subject", id="blank-sub"),
        pytest.param(lambda: provider_token(exp=None), "not valid", id="missing-exp"),
        pytest.param(lambda: provider_token(kid="unknown"), "unknown key", id="unknown-kid"),
        pytest.param(lambda: provider_token(alg="RS512"), "algorithm is not allowed", id="alg-not-configured"),
        pytest.param(lambda: provider_token(typ="ID"), "not an access token", id="id-token"),
        # Another issuer's token is not ours: simplejwt refuses it in its own words.
        pytest.param(
            lambda: provider_token(iss="https://evil.example.test/realms/chat"), "not valid", id="wrong-issuer"
        ),
    ],
)
def test_invalid_tokens_are_401_json(provider, make_token, detail):
    response = bearer(make_token()).get(ME)

    assert_refused(response)
    assert detail in response.json()["detail"]
    assert not User.objects.exists()
    assert not ExternalIdentity.objects.exists()


def test_tokens_for_our_issuer_raise_and_others_are_not_ours(provider):
    assert oidc.oidc_authenticate("not.a.jwt") is None
    assert oidc.oidc_authenticate(provider_token(iss="https://elsewhere.test")) is None
    with pytest.raises(oidc.OidcTokenInvalid) as refused:
        oidc.oidc_authenticate(unsigned_token("none"))
    assert refused.value.code == "token_not_valid"
    assert refused.value.http_status == 401


def test_the_leeway_accepts_a_token_that_just_expired(provider):
    response = bearer(provider_token(exp=int(time.time()) - 5)).get(ME)

    assert response.status_code == 200


def test_the_verified_claims_are_available_as_request_auth(provider):
    login = oidc.oidc_authenticate(provider_token())

    assert login is not None
    assert login["sub"] == "0b6c6f5e-provider-ana"
    assert login.payload["aud"] == AUDIENCE
    assert login.user.username == "ana"


# --- The key cache ----------------------------------------------------------------------------------


def test_a_new_kid_after_rotation_triggers_exactly_one_refetch(provider, clock):
    assert bearer(provider_token()).get(ME).status_code == 200
    provider.document = {"keys": [_jwk(KEY, "k1"), _jwk(NEW_KEY, "k2")]}
    clock.advance(MIN_INTERVAL)

    rotated = [bearer(provider_token(NEW_KEY, kid="k2")).get(ME) for _ in range(3)]
    old = bearer(provider_token()).get(ME)

    assert [response.status_code for response in rotated] == [200, 200, 200]
    assert old.status_code == 200
    assert provider.fetches == 2


def test_unknown_kids_refetch_at_most_once_per_min_interval(provider, clock):
    bearer(provider_token()).get(ME)
    clock.advance(MIN_INTERVAL)

    for number in range(20):
        assert_refused(bearer(provider_token(kid=f"bogus-{number}")).get(ME))
    assert provider.fetches == 2

    clock.advance(MIN_INTERVAL)
    assert_refused(bearer(provider_token(kid="bogus-again")).get(ME))
    assert provider.fetches == 3


def test_a_new_kid_within_the_min_interval_waits_for_the_next_refetch(provider, clock):
    bearer(provider_token()).get(ME)
    provider.document = {"keys": [_jwk(NEW_KEY, "k2")]}

    assert_refused(bearer(provider_token(NEW_KEY, kid="k2")).get(ME))
    clock.advance(MIN_INTERVAL)
    assert bearer(provider_token(NEW_KEY, kid="k2")).get(ME).status_code == 200
    assert provider.fetches == 2


def test_keys_are_refetched_once_the_ttl_has_passed(provider, clock):
    bearer(provider_token()).get(ME)
    clock.advance(TTL - 1)
    bearer(provider_token()).get(ME)
    assert provider.fetches == 1

    clock.advance(1)
    bearer(provider_token()).get(ME)
    bearer(provider_token()).get(ME)
    assert provider.fetches == 2


def test_a_key_removed_from_the_set_stops_working_after_the_ttl(provider, clock):
    bearer(provider_token()).get(ME)
    provider.document = {"keys": [_jwk(NEW_KEY, "k2")]}
    clock.advance(TTL)

    assert_refused(bearer(provider_token()).get(ME))


def test_the_provider_being_down_is_401_not_500(settings, provider):
    settings.CHAT_OIDC_JWKS_URL = closed_port_url()

    response = bearer(provider_token()).get(ME)

    assert_refused(response)
    assert "unavailable" in response.json()["detail"]


def test_garbage_from_the_provider_is_401_not_500(provider):
    provider.document = {"not": "a key set"}

    assert_refused(bearer(provider_token()).get(ME))


def test_cached_keys_outlive_a_provider_outage(settings, provider, clock):
    bearer(provider_token()).get(ME)
    provider.shutdown()
    provider.server_close()
    clock.advance(TTL)

    assert bearer(provider_token()).get(ME).status_code == 200


# --- Coexistence with our own tokens ----------------------------------------------------------------


def test_local_tokens_keep_working_with_oidc_enabled(provider, api):
    response = api.get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert provider.fetches == 0


def test_with_oidc_disabled_provider_tokens_are_refused_and_local_tokens_work(settings, jwks, clock, api):
    settings.CHAT_OIDC_ISSUER = ""
    settings.CHAT_OIDC_AUDIENCE = ""
    settings.CHAT_OIDC_JWKS_URL = ""

    assert_refused(bearer(provider_token()).get(ME))
    assert api.get(ME).status_code == 200
    assert jwks.fetches == 0
    assert oidc.oidc_authenticate(provider_token()) is None


def test_missing_credentials_still_answer_401(provider):
    response = APIClient().get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
