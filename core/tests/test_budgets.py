"""Per-user budgets (core/budgets.py): the arithmetic, and the same behaviour in Redis and local memory."""

from __future__ import annotations

import uuid

import pytest

from core import budgets
from core.env import ImproperlyConfiguredEnv, env_rate, parse_rate
from core.errors import RateLimited


@pytest.fixture(params=["local", "redis"])
def store(request, settings):
    """Each test runs against the local-memory cache and against Redis (under a prefix of its own)."""
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_service")
        settings.CHAT_LAYER_PREFIX = f"test-limits-{uuid.uuid4().hex[:8]}"
        yield request.param
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{settings.CHAT_LAYER_PREFIX}:*"):
            client.delete(key)
        client.close()
    else:
        settings.REDIS_URL = ""
        yield request.param


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("30/10s", (30, 10)), ("100/5m", (100, 300)), ("30/min", (30, 60)), ("20/hour", (20, 3600)), ("1/d", (1, 86400))],
)
def test_rates_are_read_like_drf_with_an_optional_multiple(text, parsed):
    assert parse_rate(text) == parsed


@pytest.mark.parametrize("text", ["0/s", "30/0s", "30", "30/10", "thirty/s", "30/fortnight", "-1/s"])
def test_a_bad_rate_in_the_environment_fails_at_start_up(monkeypatch, text):
    monkeypatch.setenv("CHAT_MESSAGE_RATE", text)

    with pytest.raises(ImproperlyConfiguredEnv, match="CHAT_MESSAGE_RATE"):
        env_rate("CHAT_MESSAGE_RATE", "30/10s")


def test_a_budget_allows_its_count_at_once_then_refuses_without_spending(store):
    spent = [budgets.spend("test", 1, rate="3/min") for _ in range(3)]
    refused = [budgets.spend("test", 1, rate="3/min") for _ in range(5)]

    assert spent == [0, 0, 0]
    # One unit comes back every 20 s; refused attempts do not push that further away.
    assert all(19 < wait <= 20 for wait in refused)


def test_budgets_are_per_identity_and_per_scope(store):
    assert budgets.spend("test", 1, rate="1/min") == 0
    assert budgets.spend("test", 1, rate="1/min") > 0

    assert budgets.spend("test", 2, rate="1/min") == 0
    assert budgets.spend("other", 1, rate="1/min") == 0


def test_a_cost_spends_several_units(store):
    assert budgets.spend("test", 1, rate="5/min", cost=3) == 0
    assert budgets.spend("test", 1, rate="5/min", cost=3) > 0
    assert budgets.spend("test", 1, rate="5/min", cost=2) == 0


def test_a_refund_gives_units_back(store):
    budgets.spend("test", 1, rate="2/min")
    budgets.spend("test", 1, rate="2/min")
    budgets.refund("test", 1, rate="2/min")

    assert budgets.spend("test", 1, rate="2/min") == 0
    assert budgets.spend("test", 1, rate="2/min") > 0


def test_check_raises_rate_limited_with_the_seconds_to_wait(store):
    budgets.check("test", 1, rate="1/min")

    with pytest.raises(RateLimited) as refused:
        budgets.check("test", 1, rate="1/min")

    assert refused.value.http_status == 429
    assert refused.value.code == "rate_limited"
    assert refused.value.extra == {"retry_after": 60}


def test_the_budget_refills_at_its_rate(settings, monkeypatch):
    settings.REDIS_URL = ""
    now = [1_000_000_000_000]
    monkeypatch.setattr(budgets, "_now_ms", lambda: now[0])
    for _ in range(2):
        budgets.spend("test", 1, rate="2/10s")

    assert budgets.spend("test", 1, rate="2/10s") == 5.0
    now[0] += 5_000
    assert budgets.spend("test", 1, rate="2/10s") == 0
    assert budgets.spend("test", 1, rate="2/10s") == 5.0


def test_an_unreachable_redis_does_not_refuse_anyone(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CHAT_LAYER_TIMEOUT = 0.2

    assert [budgets.spend("test", 1, rate="1/min") for _ in range(3)] == [0, 0, 0]
