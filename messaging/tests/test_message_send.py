import pytest
from django.db import connection

from core.errors import InvalidInput
from messaging.models import Message, Notification, Room
from messaging.selectors import RoomNotFound
from messaging.services import files_upload, message_send
from messaging.services.errors import ClientIdReused, EmptyMessage, MessageTooLong, UnknownAttachment
from messaging.tests.factories import general, make_room, png, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_seqs_are_gapless_per_room(user):
    other_room = make_room()

    seqs = [send(user, f"m{i}").seq for i in range(3)]
    other = send(user, "elsewhere", room=other_room).seq

    assert seqs == [1, 2, 3]
    assert other == 1
    assert Room.objects.get(slug="general").last_seq == 3


def test_the_sender_comes_from_the_caller_not_the_payload(user):
    message = send(user, "mine")

    assert message.sender == user


def test_a_repeated_client_id_stores_once(user):
    first = message_send(sender=user, content="hi", client_id="c-1", room=general())
    again = message_send(sender=user, content="hi", client_id="c-1", room=general())

    assert first.created is True
    assert again.created is False
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1
    assert general().last_seq == 1


def test_a_reused_client_id_with_other_content_is_a_conflict(user):
    send(user, "hi", client_id="c-1")

    with pytest.raises(ClientIdReused):
        send(user, "something else", client_id="c-1")
    assert Message.objects.count() == 1


def test_client_ids_are_per_sender(user, other_user):
    send(user, "hi", client_id="same")
    send(other_user, "hi", client_id="same")

    assert Message.objects.count() == 2


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", EmptyMessage),
        ("   \n ", EmptyMessage),
        ("x" * 4001, MessageTooLong),
        ("a\x00b", InvalidInput),
        (5, InvalidInput),
    ],
)
def test_bad_content_stores_nothing(user, content, error):
    with pytest.raises(error):
        send(user, content)

    assert Message.objects.count() == 0
    assert general().last_seq == 0


def test_client_id_over_64_chars_is_refused(user):
    with pytest.raises(InvalidInput):
        send(user, "hi", client_id="x" * 65)


def test_nobody_writes_a_private_room_they_are_not_in(user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))

    with pytest.raises(RoomNotFound):
        message_send(sender=user, content="let me in", room_slug=private.slug)
    assert Message.objects.count() == 0


def test_unknown_room_is_not_found(user):
    with pytest.raises(RoomNotFound):
        message_send(sender=user, content="hi", room_slug="nope")


def test_inactive_users_cannot_send(user):
    user.is_active = False
    user.save()

    with pytest.raises(RoomNotFound):
        message_send(sender=user, content="hi", room_slug="general")


def test_attachments_are_linked_and_appear_in_the_message(user):
    upload = files_upload(uploader=user, uploads=[png()])[0]

    message = send(user, "look", attachment_ids=[upload.pk])

    upload.refresh_from_db()
    assert upload.message == message
    assert [a.pk for a in message.attachments.all()] == [upload.pk]


def test_a_message_may_be_only_an_attachment(user):
    upload = files_upload(uploader=user, uploads=[png()])[0]

    assert send(user, "", attachment_ids=[upload.pk]).content == ""


def test_someone_elses_upload_cannot_be_attached_and_nothing_is_stored(user, other_user):
    theirs = files_upload(uploader=other_user, uploads=[png()])[0]

    with pytest.raises(UnknownAttachment):
        send(user, "stolen", attachment_ids=[theirs.pk])

    assert Message.objects.count() == 0
    assert general().last_seq == 0  # the seq was rolled back with the insert
    theirs.refresh_from_db()
    assert theirs.message is None


def test_an_attachment_is_used_once(user):
    upload = files_upload(uploader=user, uploads=[png()])[0]
    send(user, "first", attachment_ids=[upload.pk])

    with pytest.raises(UnknownAttachment):
        send(user, "second", attachment_ids=[upload.pk])


def test_reply_to_must_be_in_the_same_room(user):
    elsewhere = send(user, "x", room=make_room())

    with pytest.raises(InvalidInput):
        send(user, "reply", reply_to_id=elsewhere.pk)
    original = send(user, "original")
    assert send(user, "reply", reply_to_id=original.pk).reply_to == original


def test_mentions_notify_readers_case_insensitively(user, other_user):
    carol = make_user("carol")

    send(user, "hey @BOB and @carol, mail me at a@alice.example, and @nobody")

    notified = Notification.objects.filter(kind="mention").values_list("recipient__username", flat=True)
    assert sorted(notified) == ["bob", "carol"]
    assert carol.notifications.get().data["room"] == "general"


def test_self_mentions_and_non_members_of_private_rooms_get_nothing(user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    send(user, "@alice @bob", room=private)

    assert Notification.objects.count() == 0


def test_mention_preferences_are_respected(user, other_user):
    other_user.preferences["notifications"]["mentions"] = False
    other_user.save()

    send(user, "@bob")

    assert Notification.objects.count() == 0


def test_direct_messages_notify_the_other_person(user, other_user):
    from messaging.services import direct_room_get_or_create

    room, _ = direct_room_get_or_create(actor=user, other=other_user)
    upload = files_upload(uploader=user, uploads=[png()])[0]

    send(user, "psst", room=room)
    send(user, "a file", room=room, attachment_ids=[upload.pk])

    kinds = list(other_user.notifications.order_by("id").values_list("kind", flat=True))
    assert kinds == ["direct_message", "file_shared"]
    assert user.notifications.count() == 0


def test_a_committed_message_is_published_once_with_its_seq(user, events):
    message = send(user, "hello")

    published = [e for e in events if e["group"] == f"chat.room.{general().pk}"]
    assert len(published) == 1
    assert published[0]["seq"] == message.seq
    assert '"content":"hello"' in published[0]["frame"]


def test_a_refused_message_publishes_nothing(user, other_user, events):
    theirs = files_upload(uploader=other_user, uploads=[png()])[0]

    with pytest.raises(UnknownAttachment):
        send(user, "@bob stolen", attachment_ids=[theirs.pk])

    assert events == []


def test_an_idempotent_retry_publishes_nothing_new(user, events):
    send(user, "hi", client_id="once")
    send(user, "hi", client_id="once")

    assert len([e for e in events if e["group"].startswith("chat.room.")]) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need a server database")
def test_concurrent_senders_get_gapless_unique_seqs(transactional_db):
    import threading

    from django.db import connections

    senders = [make_user(f"racer{i}") for i in range(6)]
    errors: list[Exception] = []

    def burst(sender):
        try:
            for i in range(10):
                send(sender, f"{sender.username} {i}", client_id=f"{sender.username}-{i % 7}" if i < 7 else None)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=burst, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seqs = sorted(Message.objects.filter(room=general()).values_list("seq", flat=True))
    assert seqs == list(range(1, 61))


def test_generated_titles_fit_their_column_whatever_the_names(user, other_user):
    user.display_name = "D" * 150
    user.save()
    room = make_room(slug="s" * 64)

    send(user, "@bob look", room=room)

    title = Notification.objects.get().title
    assert len(title) <= 200
    assert title.endswith("…")


def test_a_caller_that_checked_the_room_earlier_is_checked_again(user, other_user):
    """A socket passes the room it opened; access is checked against the present, not that moment."""
    from messaging.services import room_remove_member

    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))
    room_remove_member(actor=user, room=private, user=user)

    with pytest.raises(RoomNotFound):
        message_send(sender=user, content="still here?", room=private)
    user.__class__.objects.filter(pk=other_user.pk).update(is_active=False)
    with pytest.raises(RoomNotFound):
        message_send(sender=other_user, content="deactivated", room=general())
    assert Message.objects.count() == 0


def test_lone_surrogates_are_refused(user):
    with pytest.raises(InvalidInput):
        send(user, "bad \ud800 text")
    with pytest.raises(InvalidInput):
        send(user, "ok", client_id="\udfff")
