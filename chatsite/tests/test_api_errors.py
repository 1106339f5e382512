import pytest
from rest_framework.test import APIClient

from users import views as user_views

pytestmark = pytest.mark.django_db


def test_method_not_allowed_is_json_405(api):
    response = api.post("/api/v1/users/me/", {}, format="json")

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.', "code": "method_not_allowed"}


def test_an_unexpected_error_is_a_json_500_without_traceback(api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(user_views.selectors, "user_list", explode)
    client = APIClient(raise_request_exception=False)
    client.credentials(**api._credentials)

    response = client.get("/api/v1/users/")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


def test_oversized_json_body_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api.patch("/api/v1/users/me/", {"city": "x" * 5000}, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_throttled_answers_carry_the_code(anon_client, user):
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "token": "1/min"}
    try:
        anon_client.post("/api/v1/auth/token/", {"username": "a", "password": "b"}, format="json")
        response = anon_client.post("/api/v1/auth/token/", {"username": "a", "password": "b"}, format="json")
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response


def test_non_api_404_stays_html(client):
    response = client.get("/definitely-not-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
