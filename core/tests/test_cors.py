"""CORS (django-cors-headers): allowed origins from CHAT_CORS_ALLOWED_ORIGINS, with credentials; a
preflight OPTIONS is answered before authentication (never 401); other origins, ports and schemes get no
CORS headers; and the origin lists refuse anything that is not an origin."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.env import ImproperlyConfiguredEnv, env_origins
from core.origins import normalize_origin
from users.tests.factories import make_user, token_for

pytestmark = pytest.mark.django_db

FRONT_END = "https://chat.example.com:8443"
ME = "/api/v1/users/me/"


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONT_END, "http://localhost:3000"]
    return settings


def preflight(path: str, origin: str, method: str = "GET", headers: str = "authorization, content-type"):
    return APIClient().options(
        path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method, HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers
    )


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (ME, "GET"),
        ("/api/v1/messages/", "POST"),
        ("/api/v1/messages/1/", "DELETE"),
        ("/v1/messages", "GET"),  # back_chat's paths, as its front end calls them
        ("/v1/user-info", "GET"),
        ("/api/health", "GET"),
        ("/ws/connected_users", "GET"),
    ],
)
def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(cors, path, method):
    response = preflight(path, FRONT_END, method)

    assert response.status_code == 200  # not 401: no credentials are sent with a preflight
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert method in response["Access-Control-Allow-Methods"]
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "origin" in response["Vary"].lower()


def test_the_actual_request_carries_the_cors_headers(cors):
    user = make_user("ana")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")

    response = client.get(ME, HTTP_ORIGIN="http://localhost:3000")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "X-Request-ID" in response["Access-Control-Expose-Headers"]


def test_errors_carry_them_too_so_the_client_can_read_the_401(cors):
    response = APIClient().get(ME, HTTP_ORIGIN=FRONT_END)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == FRONT_END


@pytest.mark.parametrize(
    "origin",
    [
        "https://chat.example.com",  # the right host on the default port
        "https://chat.example.com:9443",  # a wrong port
        "http://chat.example.com:8443",  # the wrong scheme
        "https://evil.example.com:8443",
        "https://chat.example.com.evil.example:8443",
        "null",
    ],
)
def test_other_origins_get_no_cors_headers(cors, origin):
    response = preflight(ME, origin)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response
    get = APIClient().get(ME, HTTP_ORIGIN=origin)
    assert get.status_code == 401
    assert "Access-Control-Allow-Origin" not in get


def test_by_default_no_origin_is_allowed(settings):
    assert settings.CORS_ALLOWED_ORIGINS == []  # CHAT_CORS_ALLOWED_ORIGINS unset in the tests

    assert "Access-Control-Allow-Origin" not in preflight(ME, FRONT_END)


@pytest.mark.parametrize("path", ["/admin/login/", "/", "/metrics"])
def test_the_admin_the_page_and_metrics_are_not_cors_enabled(cors, path):
    response = APIClient().get(path, HTTP_ORIGIN=FRONT_END)

    assert "Access-Control-Allow-Origin" not in response


# --- the origin lists -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://chat.example.com", "https://chat.example.com"),
        ("HTTPS://Chat.Example.com:443", "https://chat.example.com"),
        ("http://localhost:80/", "http://localhost"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://10.0.0.5:8443", "https://10.0.0.5:8443"),
    ],
)
def test_origins_are_normalized_as_browsers_send_them(raw, origin):
    assert normalize_origin(raw) == origin


@pytest.mark.parametrize(
    "raw",
    ["chat.example.com", "ftp://chat.example.com", "https://chat.example.com/app", "https://u:p@chat.example.com",
     "https://chat.example.com:99999", "https://", "*", "null", "https://chat.example.com?x=1"],
)  # fmt: skip
def test_anything_but_an_origin_is_refused(raw, monkeypatch):
    assert normalize_origin(raw) is None
    monkeypatch.setenv("CHAT_CORS_ALLOWED_ORIGINS", f"https://ok.example.com,{raw}")
    with pytest.raises(ImproperlyConfiguredEnv, match="CHAT_CORS_ALLOWED_ORIGINS"):
        env_origins("CHAT_CORS_ALLOWED_ORIGINS", [])


def test_the_environment_list_is_read_and_normalized(monkeypatch):
    monkeypatch.setenv("CHAT_WS_ALLOWED_ORIGINS", " https://Chat.example.com:443 , http://localhost:3000,")

    assert env_origins("CHAT_WS_ALLOWED_ORIGINS", []) == ["https://chat.example.com", "http://localhost:3000"]
