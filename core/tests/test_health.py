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


def test_a_replica_reuses_its_answer_within_the_cache_window(client, settings, monkeypatch):
    settings.CHAT_HEALTH_CACHE_SECONDS = 60
    health.forget_last_probe()
    probes: list[int] = []

    def database_ok() -> bool:
        probes.append(1)
        return True

    monkeypatch.setattr(health, "_database_ok", database_ok)

    first = client.get("/healthz")
    second = client.get("/healthz")

    assert first.json() == second.json()
    assert first.json()["database"] == "ok"
    assert len(probes) == 1
    health.forget_last_probe()


def test_the_cached_answer_expires(client, settings, monkeypatch):
    settings.CHAT_HEALTH_CACHE_SECONDS = 60
    health.forget_last_probe()
    assert client.get("/healthz").status_code == 200
    monkeypatch.setattr(health, "_database_ok", lambda: False)
    assert client.get("/healthz").status_code == 200  # still the answer of a moment ago

    settings.CHAT_HEALTH_CACHE_SECONDS = 0
    assert client.get("/healthz").status_code == 503
    health.forget_last_probe()


def test_the_version_is_pyproject_s_unless_set(client, settings):
    import tomllib

    project = tomllib.loads((settings.BASE_DIR / "pyproject.toml").read_text())["project"]
    assert project["version"] == settings.CHAT_VERSION
    settings.CHAT_VERSION = "2.3.4"

    assert client.get("/healthz").json()["version"] == "2.3.4"
