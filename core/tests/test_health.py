import pytest

from core import health

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_layer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "channel_layer": "ok", "version": "1.0.0"}


def test_health_is_503_only_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "_database_ok", lambda: False)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_a_redis_outage_degrades_but_does_not_fail_health(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "channel_layer": "down", "version": "1.0.0"}


def test_the_version_is_pyproject_s_unless_set(client, settings):
    import tomllib

    project = tomllib.loads((settings.BASE_DIR / "pyproject.toml").read_text())["project"]
    assert project["version"] == settings.CHAT_VERSION
    settings.CHAT_VERSION = "2.3.4"

    assert client.get("/healthz").json()["version"] == "2.3.4"
