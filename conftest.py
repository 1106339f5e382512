"""Project-wide test fixtures: fast hashing, a clean cache, API clients, and service requirements.

Tests that need Redis or PostgreSQL skip with a reason when the service is absent on a laptop; CI sets
CHAT_REQUIRE_SERVICES=1, which turns those skips into failures so a missing service cannot pass silently.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from users.tests.factories import PASSWORD, make_user, token_for


def services_required() -> bool:
    return os.environ.get("CHAT_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip (or, under CHAT_REQUIRE_SERVICES, fail) when the service does not answer."""
    if _answers(url, default_port):
        return
    reason = f"{name} is not answering at {url}"
    if services_required():
        pytest.fail(f"{reason} and CHAT_REQUIRE_SERVICES is set")
    pytest.skip(reason)


@pytest.fixture
def redis_service() -> str:
    require_service("Redis", redis_url(), 6379)
    return redis_url()


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests post faster than people do; the tests of these budgets set their own.
    settings.CHAT_MESSAGE_RATE = settings.CHAT_NOTIFICATION_RATE = "100000/100s"
    settings.MEDIA_ROOT = tmp_path / "media"
    # No test server starts a jobs worker of its own: tests run jobs with jobs.testing.drain().
    settings.CHAT_JOBS_WORKER = "external"
    # Each health test sees its own state; the cache has its own test (core/tests/test_health.py).
    settings.CHAT_HEALTH_CACHE_SECONDS = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def events(transactional_db):
    """Real-time events submitted after commit (transactional, so on_commit callbacks really run)."""
    from messaging.tests.factories import general
    from realtime.kernel import outbox

    general()  # a transactional test flushes the row the data migration created
    captured: list[dict] = []
    stop = outbox.observe(lambda event: captured.append(event.to_wire()))
    yield captured
    stop()


@pytest.fixture
def user(db):
    return make_user(username="alice", display_name="Alice")


@pytest.fixture
def other_user(db):
    return make_user(username="bob", display_name="Bob")


@pytest.fixture
def staff_user(db):
    return make_user(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    client.user = user  # type: ignore[attr-defined]  # which user the tests' client signs in as
    return client


@pytest.fixture
def client_for():
    return _client_for


@pytest.fixture
def api(user) -> APIClient:
    return _client_for(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    return _client_for(other_user)


@pytest.fixture
def admin_api(staff_user) -> APIClient:
    return _client_for(staff_user)


__all__ = ["PASSWORD"]
