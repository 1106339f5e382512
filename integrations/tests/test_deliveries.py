"""Outgoing deliveries, run with jobs.testing.drain against a local receiver: signed, retried, logged,
replied to, disabled after repeated failures."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations import signing
from integrations.models import Delivery, Subscription
from integrations.services import subscription_create
from integrations.tests.conftest import make_bot
from integrations.tests.receivers import Receiver
from jobs.testing import drain
from messaging.models import Message, Notification, Room
from messaging.tests.factories import general, make_room, send

pytestmark = pytest.mark.django_db

LATER = timedelta(hours=3)  # past every retry of a delivery


def _subscribe(bot, url, events=("mention",), **fields):
    return subscription_create(owner=bot.bot_owner, bot_id=bot.pk, url=url, events=list(events), **fields)


def test_a_mention_is_delivered_signed_and_the_answer_is_posted_as_the_bot(user, other_user, bot):
    general()
    with Receiver(default=(200, {"text": "pong"})) as receiver:
        subscription = _subscribe(bot, receiver.url)
        mention = send(other_user, "ping @echo")
        ran = drain()

    assert ran.names() == ["deliver"]
    [request] = receiver.received
    timestamp = request.headers["X-Chat-Timestamp"]
    assert signing.verify(
        subscription.secret, timestamp, request.body, request.headers["X-Chat-Signature"], now=int(timestamp)
    )
    body = request.json()
    assert (body["event"], body["message"]["id"], body["room"]["slug"], body["bot"]["username"]) == (
        "mention",
        mention.pk,
        "general",
        "echo",
    )
    assert body["message"]["sender"]["username"] == "bob"
    reply = Message.objects.get(sender=bot)
    assert (reply.content, reply.room.slug) == ("pong", "general")
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.reply_id) == (
        "succeeded",
        1,
        200,
        reply.pk,
    )


def test_a_receiver_that_fails_three_times_gets_the_message_once_after_retries(other_user, bot):
    general()
    with Receiver(script=[(500, {}), (502, {}), (503, {})], default=(200, {"text": "finally"})) as receiver:
        _subscribe(bot, receiver.url)
        send(other_user, "@echo are you there?")
        first = drain()
        ran = drain(until=timezone.now() + LATER)

    assert len(first.failed) == 1
    assert len(ran.failed) == 2
    assert len(receiver.received) == 4
    assert len({r.json()["delivery"] for r in receiver.received}) == 1
    assert list(Message.objects.filter(sender=bot).values_list("content", flat=True)) == ["finally"]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.error) == ("succeeded", 4, "")


def test_a_delivery_run_twice_posts_its_reply_once(other_user, bot):
    from integrations.deliveries import deliver

    general()
    with Receiver(default=(200, {"text": "once"})) as receiver:
        _subscribe(bot, receiver.url)
        send(other_user, "@echo hi")
        drain()
        delivery = Delivery.objects.get()
        Delivery.objects.filter(pk=delivery.pk).update(status="pending")  # as if the worker died after the POST
        deliver(delivery_id=delivery.pk)

    assert len(receiver.received) == 2
    assert Message.objects.filter(sender=bot).count() == 1


def test_a_delivery_that_fails_every_try_is_logged_as_failed(other_user, bot, settings):
    settings.CHAT_WEBHOOK_DISABLE_AFTER = 100
    general()
    with Receiver(default=(500, {})) as receiver:
        _subscribe(bot, receiver.url)
        send(other_user, "@echo hello")
        drain(until=timezone.now() + LATER)

    delivery = Delivery.objects.get()
    assert len(receiver.received) == 6
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 6, 500)
    assert "HTTP 500" in delivery.error
    assert Subscription.objects.get().is_active


def test_repeated_failures_disable_the_subscription_and_notify_the_owner(user, other_user, bot, settings):
    settings.CHAT_WEBHOOK_DISABLE_AFTER = 3
    general()
    with Receiver(default=(500, {})) as receiver:
        _subscribe(bot, receiver.url)
        send(other_user, "@echo one")
        drain(until=timezone.now() + LATER)
        send(other_user, "@echo two")
        drain(until=timezone.now() + LATER)

    subscription = Subscription.objects.get()
    assert not subscription.is_active
    assert "3 failed tries in a row" in subscription.disabled_reason
    assert len(receiver.received) == 3
    assert Delivery.objects.get().status == "failed"
    note = Notification.objects.get(recipient=user)
    assert "@echo" in note.title
    assert note.data["subscription"] == subscription.pk


def test_a_success_resets_the_count_of_failures(other_user, bot, settings):
    settings.CHAT_WEBHOOK_DISABLE_AFTER = 3
    general()
    with Receiver(script=[(500, {}), (500, {})], default=(200, {})) as receiver:
        _subscribe(bot, receiver.url)
        send(other_user, "@echo a")
        drain(until=timezone.now() + LATER)
        receiver.script[:] = [(500, {}), (500, {})]
        send(other_user, "@echo b")
        drain(until=timezone.now() + LATER)

    assert Subscription.objects.get().is_active
    assert list(Delivery.objects.values_list("status", flat=True)) == ["succeeded", "succeeded"]


def test_message_events_come_from_the_chosen_rooms_only(other_user, bot):
    general()
    ops = make_room(slug="ops")
    with Receiver() as receiver:
        _subscribe(bot, receiver.url, events=["message"], rooms=["ops"])
        send(other_user, "in general")
        send(other_user, "in ops", room=ops)
        drain()

    assert [r.json()["message"]["content"] for r in receiver.received] == ["in ops"]


def test_a_bot_hears_nothing_from_rooms_it_cannot_read(user, other_user, bot):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    with Receiver() as receiver:
        _subscribe(bot, receiver.url, events=["message", "mention"])
        send(other_user, "@echo secret plans", room=private)
        drain()

    assert receiver.received == []
    assert not Delivery.objects.exists()


def test_a_bot_banned_from_a_public_room_hears_nothing_from_it(user, other_user, bot):
    from messaging.services.moderation import room_ban

    room = make_room(members=(user,))
    with Receiver() as receiver:
        _subscribe(bot, receiver.url, events=["message", "mention"])
        room_ban(actor=user, room=room, user_id=bot.pk)
        send(other_user, "@echo plans", room=room)
        drain()

    assert receiver.received == []
    assert not Delivery.objects.exists()


def test_a_slash_command_is_delivered_with_its_arguments_and_answered(other_user, bot):
    general()
    with Receiver(default=(200, {"text": "deploying prod"})) as receiver:
        _subscribe(bot, receiver.url, events=["command"], command="deploy")
        send(other_user, "/deploy prod  --fast")
        send(other_user, "/other thing")
        drain()

    [request] = receiver.received
    assert request.json()["event"] == "command"
    assert request.json()["command"] == {"name": "deploy", "args": "prod  --fast"}
    assert Message.objects.filter(sender=bot).get().content == "deploying prod"


def test_one_message_is_one_delivery_per_subscription_even_when_it_matches_twice(other_user, bot):
    general()
    with Receiver() as receiver:
        _subscribe(bot, receiver.url, events=["message", "mention"])
        send(other_user, "hello @echo")
        drain()

    assert [r.json()["event"] for r in receiver.received] == ["mention"]


def test_bots_do_not_trigger_bots(user, bot):
    general()
    other_bot = make_bot(user, "relay")
    with Receiver() as receiver:
        _subscribe(bot, receiver.url, events=["message", "mention"])
        send(other_bot, "@echo loop?")
        send(bot, "talking to myself")
        drain()

    assert receiver.received == []


def test_deliveries_to_private_addresses_fail_when_not_allowed(other_user, bot, settings):
    general()
    with Receiver() as receiver:
        _subscribe(bot, receiver.url)
        settings.CHAT_WEBHOOK_ALLOW_PRIVATE = False
        send(other_user, "@echo hi")
        drain()

    assert receiver.received == []
    delivery = Delivery.objects.get()
    assert "loopback" in delivery.error
    assert delivery.status == "pending"  # retried later, as the setting may change


def test_an_answer_that_is_not_json_or_too_big_posts_nothing(other_user, bot, settings):
    settings.CHAT_WEBHOOK_MAX_RESPONSE = 100
    general()
    with Receiver(script=[(200, b"ok"), (200, {"text": "x" * 500})]) as receiver:
        _subscribe(bot, receiver.url)
        send(other_user, "@echo 1")
        send(other_user, "@echo 2")
        drain()

    assert len(receiver.received) == 2
    assert not Message.objects.filter(sender=bot).exists()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_deleted_subscription_stops_its_queued_tries(other_user, bot):
    general()
    with Receiver() as receiver:
        subscription = _subscribe(bot, receiver.url)
        send(other_user, "@echo hi")
        subscription.delete()
        ran = drain()

    assert receiver.received == []
    assert ran.names() == ["deliver"]


def test_without_an_active_subscription_a_message_costs_one_probe_and_makes_no_delivery(other_user, bot):
    """The candidates' query is skipped only when no subscription is active: a disabled one hears
    nothing, and enabling it again is heard from the next message on."""
    general()
    subscription = _subscribe(bot, "https://hooks.example.com/in", events=["message"])
    Subscription.objects.filter(pk=subscription.pk).update(is_active=False)
    with CaptureQueriesContext(connection) as queries:
        send(other_user, "nobody listens")
    touching = [q["sql"] for q in queries if "integrations_subscription" in q["sql"]]
    assert len(touching) == 1
    assert "LIMIT 1" in touching[0]
    assert not Delivery.objects.exists()

    Subscription.objects.filter(pk=subscription.pk).update(is_active=True)
    send(other_user, "someone listens")
    assert Delivery.objects.get().subscription_id == subscription.pk
