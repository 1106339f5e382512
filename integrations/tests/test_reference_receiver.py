"""The README's reference receiver against real deliveries: it accepts them and answers, and refuses
forged, altered, stale and replayed ones."""

import time
import urllib.error
import urllib.request

import pytest

from integrations import http as outgoing
from integrations import signing
from integrations.models import Delivery
from integrations.services import subscription_create
from integrations.tests.reference import reference_receiver, reference_source
from jobs.testing import drain
from messaging.models import Message
from messaging.tests.factories import general, send

pytestmark = pytest.mark.django_db


def _post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (a local test server)
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def delivered(monkeypatch, user, other_user, bot):
    """A real delivery of a mention to the reference receiver, and the request exactly as it was sent."""
    sent = []
    real_post = outgoing.post

    def recording(target, *, body, headers, **kwargs):
        sent.append((body, headers))
        return real_post(target, body=body, headers=headers, **kwargs)

    monkeypatch.setattr(outgoing, "post", recording)
    general()
    with reference_receiver() as receiver:
        subscription = subscription_create(owner=user, bot_id=bot.pk, url=receiver["url"], events=["mention"])
        receiver["SECRET"] = subscription.secret.encode()
        send(other_user, "@echo hello there")
        drain()
        yield receiver, subscription, sent


def test_the_reference_code_is_short_and_standalone():
    source = reference_source()

    assert len(source.strip().splitlines()) <= 40
    assert "import hashlib, hmac" in source


def test_the_reference_receiver_verifies_a_real_delivery_and_its_answer_is_posted(delivered, bot):
    _, _, sent = delivered

    assert len(sent) == 1
    assert Delivery.objects.get().status == "succeeded"
    assert Message.objects.get(sender=bot).content == "echo: @echo hello there"


def test_a_replayed_delivery_is_refused(delivered):
    receiver, _, sent = delivered
    body, headers = sent[0]

    assert _post(receiver["url"], body, headers) == 401


def test_forged_and_altered_deliveries_are_refused(delivered):
    receiver, subscription, sent = delivered
    body, _ = sent[0]
    now = int(time.time())

    forged = {signing.TIMESTAMP_HEADER: str(now), signing.SIGNATURE_HEADER: signing.signature("guess", now, body)}
    altered = {
        signing.TIMESTAMP_HEADER: str(now),
        signing.SIGNATURE_HEADER: signing.signature(subscription.secret, now, body),
    }
    unsigned = {signing.TIMESTAMP_HEADER: str(now)}

    assert _post(receiver["url"], body, forged) == 401
    assert _post(receiver["url"], body.replace(b"hello", b"HELLO"), altered) == 401
    assert _post(receiver["url"], body, unsigned) == 401


def test_a_stale_timestamp_is_refused_even_when_well_signed(delivered):
    receiver, subscription, sent = delivered
    body, _ = sent[0]
    stale = int(time.time()) - 600

    headers = {
        signing.TIMESTAMP_HEADER: str(stale),
        signing.SIGNATURE_HEADER: signing.signature(subscription.secret, stale, body),
    }

    assert _post(receiver["url"], body, headers) == 401


def test_a_fresh_well_signed_request_is_accepted(delivered):
    receiver, subscription, sent = delivered
    body, _ = sent[0]
    now = int(time.time()) + 1  # a different signature than the delivery's

    headers = {
        signing.TIMESTAMP_HEADER: str(now),
        signing.SIGNATURE_HEADER: signing.signature(subscription.secret, now, body),
    }

    assert _post(receiver["url"], body, headers) == 200
