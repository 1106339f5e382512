import pytest

from core import health

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_layer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "channel_layer": "ok"}


def test_health_is_503_only_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "_database_ok", lambda: False)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_a_redis_outage_degrades_but_does_not_fail_health(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "channel_layer": "down"}
