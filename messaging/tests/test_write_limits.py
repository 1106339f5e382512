"""Write limits of the messaging services: message and notification budgets per user (whatever the
transport), mentions per message, and message notifications coalesced per recipient."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import budgets
from core.errors import InvalidInput
from messaging import limits
from messaging.models import Message, Notification
from messaging.services import (
    direct_room_get_or_create,
    files_upload,
    message_send,
    notification_send,
    notifications_mark_read,
)
from messaging.services.errors import NotifyingTooFast, SendingTooFast
from messaging.tests.factories import general, make_room, png, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

MESSAGES = "/api/v1/messages/"
NOTIFICATIONS = "/api/v1/notifications/"


# --- messages -----------------------------------------------------------------------------------------


def test_a_burst_of_rest_posts_is_refused_beyond_the_budget_with_429(api, settings):
    settings.CHAT_MESSAGE_RATE = "5/min"

    codes = [api.post(MESSAGES, {"content": f"m{i}"}, format="json").status_code for i in range(8)]
    refused = api.post(MESSAGES, {"content": "again", "client_id": "late"}, format="json")

    assert codes == [201] * 5 + [429] * 3
    assert refused.json() == {
        "detail": "You are sending messages too fast. Try again in 12 s.",
        "code": "rate_limited",
        "retry_after": 12,
    }
    assert refused["Retry-After"] == "12"
    assert Message.objects.count() == 5


def test_the_default_budget_stops_a_burst_of_300(api, settings, monkeypatch):
    settings.CHAT_MESSAGE_RATE = "30/10s"  # the documented default (the test settings raise it)
    settings.REDIS_URL = ""  # the local store, whose clock can be stopped: nothing refills meanwhile
    monkeypatch.setattr(budgets, "_now_ms", lambda: 1_000_000_000_000)

    codes = [api.post(MESSAGES, {"content": f"m{i}"}, format="json").status_code for i in range(300)]

    assert codes.count(201) == 30
    assert Message.objects.count() == 30


def test_the_budget_is_per_user(user, other_user, settings):
    settings.CHAT_MESSAGE_RATE = "2/min"
    send(user, "one")
    send(user, "two")

    with pytest.raises(SendingTooFast):
        send(user, "three")
    assert send(other_user, "mine").content == "mine"


def test_a_retry_of_a_stored_client_id_costs_nothing_and_is_answered_over_budget(user, settings):
    settings.CHAT_MESSAGE_RATE = "2/min"
    first = message_send(sender=user, content="hi", client_id="c-1", room=general())
    retry = message_send(sender=user, content="hi", client_id="c-1", room=general())
    second = message_send(sender=user, content="there", client_id="c-2", room=general())
    with pytest.raises(SendingTooFast):
        message_send(sender=user, content="third", client_id="c-3", room=general())

    late_retry = message_send(sender=user, content="hi", client_id="c-1", room=general())

    assert (first.created, retry.created, second.created, late_retry.created) == (True, False, True, False)
    assert retry.message.pk == late_retry.message.pk == first.message.pk
    assert list(Message.objects.values_list("client_id", flat=True).order_by("seq")) == ["c-1", "c-2"]


def test_an_over_budget_retry_over_rest_is_200_with_the_stored_message(api, settings):
    settings.CHAT_MESSAGE_RATE = "1/min"
    first = api.post(MESSAGES, {"content": "hi", "client_id": "k"}, format="json")
    refused = api.post(MESSAGES, {"content": "new", "client_id": "k2"}, format="json")
    retry = api.post(MESSAGES, {"content": "hi", "client_id": "k"}, format="json")

    assert (first.status_code, refused.status_code, retry.status_code) == (201, 429, 200)
    assert retry.json()["id"] == first.json()["id"]


def test_a_refused_message_publishes_and_notifies_nothing(user, other_user, settings, events):
    settings.CHAT_MESSAGE_RATE = "1/min"
    send(user, "first")
    events.clear()

    with pytest.raises(SendingTooFast):
        send(user, "@bob are you there?")

    assert events == []
    assert not Notification.objects.exists()


# --- notifications ------------------------------------------------------------------------------------


@pytest.fixture
def team(user):
    """Alice and four people who share the general room with her."""
    return [make_user(f"mate{i}") for i in range(4)]


def test_the_notification_budget_counts_recipients_not_calls(api, team, settings):
    settings.CHAT_NOTIFICATION_RATE = "5/min"
    ids = [mate.pk for mate in team]

    codes = [
        api.post(NOTIFICATIONS, {"to": ids[:3], "title": "three"}, format="json").status_code,
        api.post(NOTIFICATIONS, {"to": ids[:3], "title": "three more"}, format="json").status_code,
        api.post(NOTIFICATIONS, {"to": ids[:2], "title": "two"}, format="json").status_code,
        api.post(NOTIFICATIONS, {"to": ids[:1], "title": "one"}, format="json").status_code,
    ]

    assert codes == [201, 429, 201, 429]
    assert Notification.objects.count() == 5


def test_a_refused_notification_says_when_to_retry(api, team, settings):
    settings.CHAT_NOTIFICATION_RATE = "1/min"
    api.post(NOTIFICATIONS, {"to": [team[0].pk], "title": "hi"}, format="json")

    refused = api.post(NOTIFICATIONS, {"to": [team[1].pk], "title": "hi"}, format="json")

    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["retry_after"] == 60
    assert refused["Retry-After"] == "60"


def test_more_recipients_than_the_whole_budget_are_refused_with_the_reason(user, team, settings):
    settings.CHAT_NOTIFICATION_RATE = "3/10m"

    with pytest.raises(NotifyingTooFast, match="At most 3 recipients per 10m"):
        notification_send(sender=user, to=[mate.pk for mate in team], title="all of you")
    assert not Notification.objects.exists()


def test_notifying_everyone_spends_one_unit(staff_user, team, settings):
    settings.CHAT_NOTIFICATION_RATE = "2/min"

    sent = notification_send(sender=staff_user, to="all", title="Maintenance at 18:00")
    notification_send(sender=staff_user, to="all", title="Maintenance done")

    assert len(sent) == len(team) + 1  # the team and alice
    with pytest.raises(NotifyingTooFast):
        notification_send(sender=staff_user, to="all", title="Once more")


def test_invalid_recipients_spend_nothing(user, team, settings):
    settings.CHAT_NOTIFICATION_RATE = "1/min"
    gone = make_user("gone", is_active=False)

    for _ in range(3):
        with pytest.raises(InvalidInput, match="Unknown recipients"):
            notification_send(sender=user, to=[gone.pk], title="hi")

    assert len(notification_send(sender=user, to=[team[0].pk], title="hi")) == 1


# --- mentions and message notifications -----------------------------------------------------------------


def test_fifty_messages_mentioning_one_person_make_one_notification(user, other_user):
    for i in range(50):
        send(user, f"@bob look at this ({i})")

    (only,) = Notification.objects.filter(recipient=other_user)
    assert only.kind == Notification.Kind.MENTION
    assert only.data["seq"] == 1  # where the unread mentions start


def test_once_read_the_next_mention_notifies_again(user, other_user):
    send(user, "@bob one")
    notifications_mark_read(user=other_user, everything=True)

    send(user, "@bob two")

    assert other_user.notifications.count() == 2
    assert other_user.notifications.filter(read_at__isnull=True).get().body == "@bob two"


def test_an_unread_mention_older_than_the_window_does_not_hold_back_a_new_one(user, other_user, settings):
    settings.CHAT_NOTIFICATION_COALESCE_WINDOW = 600
    send(user, "@bob one")
    Notification.objects.update(created_at=timezone.now() - timedelta(seconds=601))

    send(user, "@bob two")

    assert other_user.notifications.count() == 2


def test_mentions_by_other_senders_or_in_other_rooms_notify_separately(user, other_user):
    carol = make_user("carol")
    elsewhere = make_room(slug="elsewhere")

    send(user, "@bob here")
    send(carol, "@bob me too")
    send(user, "@bob over here", room=elsewhere)

    rooms_and_senders = sorted(other_user.notifications.values_list("data__room", "actor__username"))
    assert rooms_and_senders == [("elsewhere", "alice"), ("general", "alice"), ("general", "carol")]


def test_a_stream_of_direct_messages_makes_one_notification_of_each_kind(user, other_user):
    room, _ = direct_room_get_or_create(actor=user, other=other_user)
    for i in range(20):
        send(user, f"psst {i}", room=room)
    for _ in range(2):
        upload = files_upload(uploader=user, uploads=[png()])[0]
        send(user, "a file", room=room, attachment_ids=[upload.pk])

    kinds = list(other_user.notifications.order_by("id").values_list("kind", flat=True))
    assert kinds == ["direct_message", "file_shared"]


def test_coalescing_can_be_turned_off(user, other_user, settings):
    settings.CHAT_NOTIFICATION_COALESCE_WINDOW = 0

    for _ in range(3):
        send(user, "@bob")

    assert other_user.notifications.count() == 3


def test_one_message_notifies_at_most_max_mentions_people(user):
    people = [make_user(f"p{i:02d}") for i in range(limits.MENTIONS_PER_MESSAGE + 10)]

    send(user, " ".join(f"@{person.username}" for person in people))

    assert Notification.objects.count() == limits.MENTIONS_PER_MESSAGE


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800"])
def test_services_refuse_text_no_database_stores_whatever_the_transport(bad):
    from core.errors import InvalidField
    from messaging.models import Room
    from messaging.services import notification_send, room_create

    author, reader = make_user("author"), make_user("reader")
    general()

    with pytest.raises(InvalidField):
        notification_send(sender=author, to=[reader.pk], title=bad, body="")
    with pytest.raises(InvalidField):
        notification_send(sender=author, to=[reader.pk], title="hello", body=bad)
    with pytest.raises(InvalidField):
        room_create(actor=author, name=bad)
    with pytest.raises(InvalidField):
        room_create(actor=author, name="fine", topic=bad)

    assert Notification.objects.count() == 0
    assert not Room.objects.exclude(slug="general").exists()
