from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from users.tests.factories import PASSWORD, make_user, refresh_for

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
VERIFY = "/api/v1/auth/token/verify/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/users/me/"


def test_token_returns_a_pair_and_sets_an_httponly_lax_cookie(anon_client, user):
    response = anon_client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    cookie = response.cookies["access_token"]
    assert cookie.value == response.json()["access"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert response.cookies["refresh_token"]["path"] == "/api/v1/auth/"


@pytest.mark.parametrize(
    "payload",
    [{"username": "alice", "password": "wrong-password"}, {"username": "nobody", "password": PASSWORD}],
)
def test_bad_credentials_are_401_json(anon_client, user, payload):
    response = anon_client.post(TOKEN, payload, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert "access_token" not in response.cookies


def test_inactive_users_get_no_token(anon_client):
    make_user("sleeper", is_active=False)

    response = anon_client.post(TOKEN, {"username": "sleeper", "password": PASSWORD}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize("payload", [{}, {"username": "alice"}, {"username": ["a"], "password": 1}])
def test_token_needs_both_fields(anon_client, user, payload):
    response = anon_client.post(TOKEN, payload, format="json")

    assert response.status_code == 400


def test_bearer_token_authenticates(anon_client, user):
    access = anon_client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json").json()["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    assert client.get(ME).json()["username"] == "alice"


@pytest.mark.parametrize(
    "header",
    ["Bearer not.a.jwt", "Bearer ", "Bearer a b", "Token abc", "Bearer " + "x" * 5000],
)
def test_malformed_tokens_are_401(header, user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] in {"token_not_valid", "not_authenticated", "bad_authorization_header"}


def test_expired_access_token_is_401(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_refresh_token_is_not_an_access_token(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh_for(user)}")

    assert client.get(ME).status_code == 401


def test_refresh_rotates_and_blacklists_the_old_token(anon_client, user):
    old = str(refresh_for(user))

    first = anon_client.post(REFRESH, {"refresh": old}, format="json")
    reuse = anon_client.post(REFRESH, {"refresh": old}, format="json")

    assert first.status_code == 200
    assert first.json()["refresh"] != old
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "token_not_valid"


@pytest.mark.parametrize("payload", [{"refresh": "garbage"}, {}, {"refresh": 12}])
def test_refresh_with_a_bad_token_is_401(anon_client, payload):
    response = APIClient().post(REFRESH, payload, format="json")

    assert response.status_code in {400, 401}
    assert "code" in response.json() or "refresh" in response.json()


def test_refresh_from_the_cookie_needs_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json")

    refused = client.post(REFRESH, {}, format="json")
    client.get("/api/v1/auth/csrf/")
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN=csrf)

    assert refused.status_code == 403
    assert accepted.status_code == 200


def test_verify(anon_client, user):
    good = anon_client.post(VERIFY, {"token": str(AccessToken.for_user(user))}, format="json")
    bad = anon_client.post(VERIFY, {"token": "nope"}, format="json")

    assert good.status_code == 200
    assert bad.status_code == 401


def test_logout_blacklists_the_refresh_and_clears_the_cookie(anon_client, user):
    refresh = str(refresh_for(user))

    response = anon_client.post(LOGOUT, {"refresh": refresh}, format="json")
    after = anon_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 200
    assert response.cookies["access_token"].value == ""
    assert after.status_code == 401


def test_logout_with_a_bad_refresh_is_401(anon_client):
    assert anon_client.post(LOGOUT, {"refresh": "bad"}, format="json").status_code == 401


def test_the_cookie_authenticates_reads(user):
    client = APIClient()
    client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json")

    assert client.get(ME).status_code == 200


def test_cookie_authenticated_writes_must_pass_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json")

    refused = client.patch(ME, {"city": "Oslo"}, format="json")
    client.get("/api/v1/auth/csrf/")
    csrf = client.cookies["csrftoken"].value
    accepted = client.patch(ME, {"city": "Oslo"}, format="json", HTTP_X_CSRFTOKEN=csrf)

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert accepted.status_code == 200


def test_bearer_writes_need_no_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")

    assert client.patch(ME, {"city": "Oslo"}, format="json").status_code == 200


def test_token_endpoint_is_throttled(anon_client, user):
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "token": "2/min"}
    try:
        codes = [
            anon_client.post(TOKEN, {"username": "alice", "password": "bad"}, format="json").status_code
            for _ in range(3)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original

    assert codes == [401, 401, 429]


def test_a_stale_cookie_does_not_break_anonymous_endpoints(user):
    client = APIClient()
    client.cookies["access_token"] = "garbage"

    signup = client.post("/api/v1/users/", {"username": "newbie", "password": PASSWORD}, format="json")
    token = client.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json")
    me = APIClient()
    me.cookies["access_token"] = "garbage"

    assert signup.status_code == 201
    assert token.status_code == 200
    assert me.get(ME).status_code == 401


def test_an_admin_signed_in_to_the_admin_site_can_use_the_browsable_api(staff_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    page = client.get("/api/v1/users/", HTTP_ACCEPT="text/html")
    write = client.post("/api/v1/users/", {"username": "x", "password": PASSWORD})

    assert page.status_code == 200
    assert b"Django REST framework" in page.content
    assert write.status_code == 403  # a session-authenticated write still needs the CSRF token


@pytest.mark.parametrize("path", [TOKEN, REFRESH, VERIFY, LOGOUT])
@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_auth_endpoints_refuse_form_posts(user, path, encoding):
    # A cross-site HTML form can send these without a preflight: login CSRF must not work.
    from urllib.parse import urlencode

    body = {"username": "alice", "password": PASSWORD, "refresh": str(refresh_for(user)), "token": "x"}
    client = APIClient()
    if encoding == "multipart":
        response = client.post(path, body, format="multipart")
    else:
        response = client.post(path, urlencode(body), content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert "access_token" not in response.cookies
    assert "refresh_token" not in response.cookies


def test_refreshing_a_deleted_users_token_is_401_not_500(anon_client):
    ghost = make_user("ghost")
    refresh = str(refresh_for(ghost))
    ghost.delete()  # not through the service, which would also have blacklisted the token

    response = anon_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_user_deleted_through_the_api_cannot_refresh(anon_client, admin_api, other_user):
    refresh = str(refresh_for(other_user))

    admin_api.delete(f"/api/v1/users/{other_user.pk}/")
    response = anon_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert "blacklisted" in response.json()["detail"]
