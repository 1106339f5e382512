"""Missed-message emails: one per window for what is still unread, respecting preferences."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django_q.models import Schedule

from emails.models import MissedMessage, MissedMessageEmail
from emails.services import missed_messages_send
from jobs.testing import drain
from messaging.models import Notification, Room
from messaging.services import (
    direct_room_get_or_create,
    message_delete,
    notifications_mark_read,
    room_mark_read,
    room_remove_member,
)
from messaging.tests.factories import general, make_room, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_delay(settings):
    """Windows end at once: the tests decide when the job runs by draining."""
    settings.CHAT_EMAIL_DELAY = 0
    settings.CHAT_SITE_URL = "https://chat.example.com"


@pytest.fixture
def ana(db):
    return make_user("ana", display_name="Ana", email="ana@example.com")


@pytest.fixture
def ben(db):
    return make_user("ben", display_name="Ben", email="ben@example.com")


@pytest.fixture
def cid(db):
    return make_user("cid", email="cid@example.com")


def emails_to(address: str) -> list[mail.EmailMultiAlternatives]:
    return [sent(message) for message in mail.outbox if address in message.to]


def sent(message: mail.EmailMessage) -> mail.EmailMultiAlternatives:
    """Every missed-message email has an HTML alternative."""
    assert isinstance(message, mail.EmailMultiAlternatives)
    return message


def test_a_mention_left_unread_is_emailed_once(ana, ben):
    message = send(ana, "hey @ben, the deploy is broken")

    drain()
    drain()

    email = sent(*mail.outbox)
    assert email.to == ["ben@example.com"]
    assert email.subject == "Ana mentioned you in #general"
    assert "hey @ben, the deploy is broken" in email.body
    assert f"https://chat.example.com/#/r/general/{message.seq}" in email.body
    (html, mimetype) = email.alternatives[0]
    assert isinstance(html, str)
    assert mimetype == "text/html"
    assert f'href="https://chat.example.com/#/r/general/{message.seq}"' in html
    assert MissedMessageEmail.objects.get().outcome == MissedMessageEmail.Outcome.SENT


def test_the_email_waits_for_the_delay(settings, ana, ben):
    settings.CHAT_EMAIL_DELAY = 600
    before = timezone.now()
    send(ana, "@ben are you there?")

    drain()

    assert mail.outbox == []
    (window,) = Schedule.objects.all()
    assert window.next_run >= before + timedelta(seconds=600)
    assert MissedMessage.objects.get().due_at == window.next_run


def test_reading_the_notification_in_time_sends_nothing(ana, ben):
    send(ana, "@ben look")
    notifications_mark_read(user=ben, everything=True)

    drain()

    assert mail.outbox == []
    assert MissedMessageEmail.objects.get().outcome == MissedMessageEmail.Outcome.READ_IN_TIME


def test_reading_the_room_past_the_message_sends_nothing(ana, ben):
    send(ana, "@ben look")
    room_mark_read(actor=ben, room=general())

    drain()

    assert mail.outbox == []


def test_reading_only_part_of_it_emails_the_rest(ana, ben):
    first = send(ana, "@ben one")
    room_mark_read(actor=ben, room=general(), seq=first.seq)
    second = send(ana, "@ben two")  # coalesced into the first notification, which is still unread

    drain()

    (email,) = mail.outbox
    assert "@ben two" in email.body
    assert "@ben one" not in email.body
    assert f"/#/r/general/{second.seq}" in email.body


def test_everything_unread_in_the_window_makes_one_email_grouped_by_room(settings, ana, ben, cid):
    settings.CHAT_EMAIL_DELAY = 600
    ops = make_room(name="Ops", slug="ops", members=(cid, ben))
    send(ana, "@ben first")
    send(cid, "@ben second, from cid")
    send(cid, "@ben in ops", room=ops)
    direct, _ = direct_room_get_or_create(actor=ana, other=ben)
    send(ana, "a direct word", room=direct)

    assert set(MissedMessage.objects.values_list("due_at", flat=True)) == {Schedule.objects.get().next_run}
    drain(until=timezone.now() + timedelta(seconds=601))

    (email,) = mail.outbox
    assert email.subject == "4 unread messages from Ana and cid"
    assert [line for line in email.body.splitlines() if line and not line.startswith(" ")][2:5] == [
        "Direct messages with Ana — https://chat.example.com/#/r/" + direct.slug + f"/{direct.last_seq}",
        f"#general — https://chat.example.com/#/r/general/{general().last_seq - 1}",
        f"#ops — https://chat.example.com/#/r/ops/{ops.last_seq}",
    ]
    assert Schedule.objects.count() == 0  # one window, one job


def test_a_message_after_the_email_opens_a_new_window_with_only_itself(ana, ben):
    send(ana, "@ben first")
    drain()
    send(ana, "@ben second")  # the first notification is still unread: coalesced, but a new window

    drain()

    first, second = mail.outbox
    assert "@ben first" in first.body
    assert "@ben second" in second.body
    assert "@ben first" not in second.body


def test_running_the_job_twice_sends_one_email(ana, ben):
    send(ana, "@ben look")

    missed_messages_send(user_id=ben.pk)
    missed_messages_send(user_id=ben.pk)
    drain()

    assert len(mail.outbox) == 1


@pytest.mark.parametrize("switch", ["email", "mentions"])
def test_a_preference_turned_off_means_no_email(ana, ben, switch):
    ben.preferences["notifications"][switch] = False
    ben.save()

    send(ana, "@ben look")
    drain()

    assert mail.outbox == []
    assert not MissedMessage.objects.exists()


def test_turning_email_off_before_the_window_ends_sends_nothing(ana, ben):
    send(ana, "@ben look")
    ben.preferences["notifications"]["email"] = False
    ben.save()

    drain()

    assert mail.outbox == []
    assert MissedMessageEmail.objects.get().outcome == MissedMessageEmail.Outcome.NOT_WANTED


def test_people_without_an_email_address_get_no_email(ana):
    make_user("dan")

    send(ana, "@dan look")
    drain()

    assert mail.outbox == []


def test_a_deleted_message_is_not_emailed(ana, ben):
    message = send(ana, "@ben oops")
    message_delete(actor=ana, message_id=message.pk)

    drain()

    assert mail.outbox == []


def test_someone_removed_from_a_private_room_is_not_emailed_its_messages(ana, ben):
    room = make_room(kind=Room.Kind.PRIVATE, members=(ana, ben))
    send(ana, "@ben secret plans", room=room)
    room_remove_member(actor=ana, room=room, user=ben)

    drain()

    assert mail.outbox == []


def test_someone_banned_from_a_public_room_or_made_a_guest_is_not_emailed_its_messages(ana, ben, cid):
    from messaging.services.moderation import room_ban
    from users.models import User

    room = make_room(members=(ana,))
    send(ana, "@ben @cid plans", room=room)
    room_ban(actor=ana, room=room, user_id=ben.pk)
    User.objects.filter(pk=cid.pk).update(role=User.Role.GUEST)

    drain()

    assert mail.outbox == []


def test_direct_messages_and_files_are_emailed(ana, ben):
    room, _ = direct_room_get_or_create(actor=ana, other=ben)
    send(ana, "lunch?", room=room)

    drain()

    (email,) = mail.outbox
    assert email.subject == "New direct message from Ana"
    assert "lunch?" in email.body


def test_other_notifications_are_never_emailed(ana, ben):
    from messaging.services import notification_send

    make_room(members=(ana, ben))
    notification_send(sender=ana, to=[ben.pk], title="Hello")
    drain()

    assert Notification.objects.filter(recipient=ben).exists()
    assert mail.outbox == []


def test_the_email_has_one_click_unsubscribe_headers(ana, ben):
    send(ana, "@ben look")
    drain()

    email = sent(*mail.outbox)
    found = re.search(r"Stop these emails: (\S+)", str(email.body))
    assert found is not None
    link = found.group(1)
    assert link.startswith("https://chat.example.com/email/unsubscribe/")
    assert email.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_html_in_messages_and_names_is_escaped(ana, ben):
    ana.display_name = "<b>Ana</b>"
    ana.save()
    send(ana, "@ben <script>alert(1)</script>")
    drain()

    html = str(sent(mail.outbox[0]).alternatives[0][0])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")


def test_an_smtp_failure_is_retried_and_sends_the_email_once(settings, ana, ben):
    send(ana, "@ben look")
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"

    failed = drain()

    assert [type(error) for _, error in failed.failed] == [ConnectionRefusedError]
    assert MissedMessageEmail.objects.get().outcome == MissedMessageEmail.Outcome.PENDING
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    drain(until=timezone.now() + timedelta(hours=2))

    assert len(mail.outbox) == 1
    assert MissedMessageEmail.objects.get().outcome == MissedMessageEmail.Outcome.SENT
