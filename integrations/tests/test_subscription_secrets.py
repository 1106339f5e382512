"""Outgoing subscriptions' signing secrets: sealed at rest under a key derived from SECRET_KEY (the
database alone reveals none), rotated by the bot's owner over REST or by an administrator in the admin,
the new secret shown once and used by every delivery from then on."""

from __future__ import annotations

import importlib

import pytest
from cryptography.fernet import InvalidToken
from django.db import connection
from rest_framework.test import APIClient

from core.sealing import seal, unseal
from integrations import signing
from integrations.deliveries import LOST_SIGNING_KEY
from integrations.models import SECRET_PURPOSE, Delivery, Subscription
from integrations.services import subscription_create
from integrations.tests.conftest import make_bot
from integrations.tests.receivers import Receiver
from jobs.testing import drain
from messaging.tests.factories import general, send
from users.models import AuditEntry

pytestmark = pytest.mark.django_db


def _path(bot, rest=""):
    return f"/api/v1/bots/{bot.pk}/subscriptions/{rest}"


def stored_secret(subscription: Subscription) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM integrations_subscription WHERE id = %s", [subscription.pk])
        return cursor.fetchone()[0]


def _subscribe(bot, url="https://example.com/hook"):
    return subscription_create(owner=bot.bot_owner, bot_id=bot.pk, url=url, events=["mention"])


# Sealed at rest


def test_the_database_holds_the_secret_sealed_and_the_model_reads_it_back(bot):
    subscription = _subscribe(bot)
    secret = subscription.secret

    raw = stored_secret(subscription)
    assert secret not in raw
    assert unseal(raw, purpose=SECRET_PURPOSE) == secret
    assert Subscription.objects.get(pk=subscription.pk).secret == secret


def test_a_previous_secret_key_still_opens_it(settings, bot):
    subscription = _subscribe(bot)
    secret = subscription.secret
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" * 6

    assert Subscription.objects.get(pk=subscription.pk).secret == secret


def test_a_secret_no_key_opens_fails_its_deliveries_instead_of_signing_with_nothing(settings, other_user, bot):
    general()
    with Receiver(default=(200, {})) as receiver:
        _subscribe(bot, receiver.url)
        settings.SECRET_KEY = "a-new-key-" * 6  # and no fallback
        send(other_user, "ping @echo")
        drain()

        assert receiver.received == []
    delivery = Delivery.objects.get()
    assert delivery.error == LOST_SIGNING_KEY
    assert api_list_is_still_readable(bot)


def api_list_is_still_readable(bot) -> bool:
    client = APIClient()
    client.force_authenticate(bot.bot_owner)
    return client.get(_path(bot)).status_code == 200


def test_the_migration_seals_secrets_stored_in_the_clear_and_back(bot):
    migration = importlib.import_module("integrations.migrations.0002_subscription_secret_sealed")
    subscription = _subscribe(bot)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_subscription SET secret = %s WHERE id = %s", ["in-the-clear", subscription.pk]
        )

    migration.seal_secrets(None, connection.schema_editor())
    sealed = stored_secret(subscription)
    migration.seal_secrets(None, connection.schema_editor())  # twice: sealed once

    assert sealed != "in-the-clear"
    assert stored_secret(subscription) == sealed
    assert Subscription.objects.get(pk=subscription.pk).secret == "in-the-clear"
    migration.unseal_secrets(None, connection.schema_editor())
    assert stored_secret(subscription) == "in-the-clear"


def test_seals_differ_each_time_and_per_purpose():
    assert seal("x", purpose="a") != seal("x", purpose="a")
    with pytest.raises(InvalidToken):
        unseal(seal("x", purpose="a"), purpose="b")


# Rotation over REST


def test_the_owner_rotates_and_gets_the_new_secret_once(api, bot):
    subscription = _subscribe(bot)
    old = subscription.secret

    rotated = api.post(_path(bot, f"{subscription.pk}/rotate/"))

    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old
    assert len(new) >= 40
    assert rotated.json()["id"] == subscription.pk
    assert Subscription.objects.get(pk=subscription.pk).secret == new
    assert "secret" not in api.get(_path(bot)).json()["results"][0]
    entry = AuditEntry.objects.get(action="subscription.rotate_secret")
    assert (entry.actor, entry.target_id, entry.via) == (bot.bot_owner, subscription.pk, "rest")


def test_deliveries_after_a_rotation_are_signed_with_the_new_secret(api, other_user, bot):
    general()
    with Receiver(default=(200, {})) as receiver:
        subscription = _subscribe(bot, receiver.url)
        new = api.post(_path(bot, f"{subscription.pk}/rotate/")).json()["secret"]
        send(other_user, "ping @echo")
        drain()

    [request] = receiver.received
    timestamp = request.headers["X-Chat-Timestamp"]
    header = request.headers["X-Chat-Signature"]
    assert signing.verify(new, timestamp, request.body, header, now=int(timestamp))
    assert not signing.verify(subscription.secret, timestamp, request.body, header, now=int(timestamp))


def test_nobody_else_rotates_and_learns_nothing(other_api, api, user, bot):
    subscription = _subscribe(bot)
    before = stored_secret(subscription)
    someone_elses = other_api.post(_path(bot, f"{subscription.pk}/rotate/"))
    missing = api.post(_path(bot, "987654/rotate/"))
    other_bot = make_bot(user, "other-bot")
    wrong_bot = api.post(_path(other_bot, f"{subscription.pk}/rotate/"))

    assert someone_elses.status_code == missing.status_code == wrong_bot.status_code == 404
    # Someone else's bot is a bot that does not exist; one's own bot's missing subscription is one.
    assert someone_elses.json() == other_api.post("/api/v1/bots/987654/subscriptions/1/rotate/").json()
    assert wrong_bot.json() == missing.json()
    assert stored_secret(subscription) == before
    assert not AuditEntry.objects.filter(action="subscription.rotate_secret").exists()


def test_an_api_token_cannot_rotate(user, bot):
    from users.api_tokens import api_token_create

    subscription = _subscribe(bot)
    before = stored_secret(subscription)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(actor=user, name='rw', scopes=['write']).text}")

    response = client.post(_path(bot, f"{subscription.pk}/rotate/"))

    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    assert stored_secret(subscription) == before


def test_only_post_rotates(api, bot):
    subscription = _subscribe(bot)
    before = stored_secret(subscription)

    assert api.get(_path(bot, f"{subscription.pk}/rotate/")).status_code == 405
    assert stored_secret(subscription) == before


# Rotation in the admin


def test_an_administrator_rotates_in_the_admin_and_sees_each_secret_once(client, staff_user, bot):
    first, second = _subscribe(bot), _subscribe(bot, "https://example.com/other")
    client.force_login(staff_user)

    response = client.post(
        "/admin/integrations/subscription/",
        {"action": "rotate_secret", "_selected_action": [first.pk, second.pk]},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    for subscription in (first, second):
        new = Subscription.objects.get(pk=subscription.pk).secret
        assert new != subscription.secret
        assert new in page
    assert AuditEntry.objects.filter(action="subscription.rotate_secret", via="admin").count() == 2
    listing = client.get("/admin/integrations/subscription/").content.decode()
    assert Subscription.objects.get(pk=first.pk).secret not in listing
