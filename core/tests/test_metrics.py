"""``/metrics``: guarded, in the Prometheus format, and moving with traffic (HTTP by view, budgets, jobs).

The socket and delivery metrics are in realtime/tests/test_socket_metrics.py; several processes sharing
one multiprocess directory in test_metrics_multiprocess.py and realtime/tests/test_e2e_http_pool.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.env import ImproperlyConfiguredEnv, env_networks
from core.metrics_view import address_allowed
from jobs.tests import sample_jobs
from messaging.tests.factories import general

TOKEN = "a-metrics-token-of-some-length"


def scrape(client: Client | None = None, **headers: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` parsed: {(sample name, sorted labels): value}."""
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


# --- the guard ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_loopback_may_scrape_by_default():
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["10.1.2.3", "203.0.113.9", "::ffff:10.0.0.1", "not-an-address", ""])
def test_any_other_address_gets_the_404_of_an_unknown_path(address):
    response = Client(REMOTE_ADDR=address).get("/metrics")
    unknown = Client(REMOTE_ADDR=address).get("/no-such-page")

    assert response.status_code == 404
    assert response.content == unknown.content


@pytest.mark.django_db
def test_an_allowed_network_may_scrape(settings):
    settings.CHAT_METRICS_ALLOW = ["10.0.0.0/8"]

    assert Client(REMOTE_ADDR="10.200.0.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::ffff:10.0.0.1").get("/metrics").status_code == 200  # IPv4-mapped
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404


@pytest.mark.django_db
def test_the_token_opens_it_from_anywhere_and_a_wrong_one_closes_it_everywhere(settings):
    settings.CHAT_METRICS_TOKEN = TOKEN
    outside = Client(REMOTE_ADDR="203.0.113.9")

    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}").status_code == 200
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 404
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 404
    assert outside.get("/metrics").status_code == 404
    # A scraper that sends a token is judged by it, even from an allowed address.
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 404


@pytest.mark.django_db
def test_no_token_means_no_token_access(settings):
    settings.CHAT_METRICS_TOKEN = ""
    settings.CHAT_METRICS_ALLOW = []

    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404


@pytest.mark.django_db
def test_only_get_and_head_are_answered():
    client = Client(REMOTE_ADDR="127.0.0.1")

    assert client.head("/metrics").status_code == 200
    assert client.post("/metrics").status_code == 404


def test_the_allow_list_is_checked_when_settings_load(monkeypatch):
    monkeypatch.setenv("CHAT_METRICS_ALLOW", "10.0.0.0/8, ::1,192.168.1.7")
    assert env_networks("CHAT_METRICS_ALLOW", []) == ["10.0.0.0/8", "::1/128", "192.168.1.7/32"]

    monkeypatch.setenv("CHAT_METRICS_ALLOW", "10.0.0.0/8,localhost")
    with pytest.raises(ImproperlyConfiguredEnv, match="localhost"):
        env_networks("CHAT_METRICS_ALLOW", [])


def test_address_checks_survive_garbage(settings):
    settings.CHAT_METRICS_ALLOW = ["127.0.0.0/8"]

    assert address_allowed("127.0.0.2")
    assert not address_allowed(None)
    assert not address_allowed("127.0.0.1:80")
    assert not address_allowed("\x00")


# --- values that move with traffic ----------------------------------------------------------------------


@pytest.mark.django_db
def test_http_requests_are_counted_by_route_name_method_and_status(api):
    general()
    before = scrape()

    api.get("/api/v1/messages/", {"room": "general"})
    api.get("/api/v1/messages/", {"room": "general", "limit": 5})
    api.post("/api/v1/messages/", {"content": "counted"}, format="json")
    api.get("/api/v1/rooms/no-such-room/")
    Client().get(f"/not-a-route-{uuid.uuid4().hex}")
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("chat_http_requests_total", view="message-list", method="GET", status="200") == 2
    assert delta("chat_http_requests_total", view="message-list", method="POST", status="201") == 1
    assert delta("chat_http_requests_total", view="room-detail", method="GET", status="404") == 1
    # Unknown paths share one label: a scanner cannot grow the series.
    assert delta("chat_http_requests_total", view="unmatched", method="GET", status="404") == 1
    assert delta("chat_http_request_duration_seconds_count", view="message-list", method="GET") == 2
    assert delta("chat_http_request_duration_seconds_sum", view="message-list", method="GET") > 0
    assert not any("no-such-room" in str(labels) or "not-a-route" in str(labels) for _name, labels in after)


@pytest.mark.django_db
def test_budget_refusals_are_counted_by_budget(api, settings):
    general()
    settings.CHAT_MESSAGE_RATE = "2/60s"
    before = value(scrape(), "chat_budget_refusals_total", scope="message")

    statuses = [api.post("/api/v1/messages/", {"content": f"m{n}"}, format="json").status_code for n in range(4)]

    assert statuses == [201, 201, 429, 429]
    assert value(scrape(), "chat_budget_refusals_total", scope="message") - before == 2


@pytest.mark.django_db
def test_the_job_queue_depth_is_read_at_scrape_time(tmp_path):
    from django_q.models import Task

    from jobs.engine import RUNNER

    sample_jobs.touch.enqueue(path=str(tmp_path / "now"))
    sample_jobs.touch.enqueue(path=str(tmp_path / "now"))
    sample_jobs.touch.enqueue_in(timedelta(hours=1), path=str(tmp_path / "later"))
    now = timezone.now()
    Task.objects.create(id=uuid.uuid4().hex, name="failed try", func=RUNNER, started=now, stopped=now, success=False)

    samples = scrape()

    assert value(samples, "chat_jobs", state="queued") == 2
    assert value(samples, "chat_jobs", state="scheduled") == 1
    assert value(samples, "chat_jobs", state="failed") == 1


@pytest.mark.django_db
def test_scraping_is_counted_too():
    before = value(scrape(), "chat_http_requests_total", view="metrics", method="GET", status="200")
    after = value(scrape(), "chat_http_requests_total", view="metrics", method="GET", status="200")

    assert after - before == 1
