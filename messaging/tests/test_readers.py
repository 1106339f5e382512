"""Read receipts: GET /messages/{id}/readers/ from members' read positions, the share_read_receipts
preference, the cap, and that nobody learns anything about a room they may not read."""

import pytest

from messaging.models import Membership, Room
from messaging.services import room_join, room_mark_read
from messaging.tests.factories import general, make_room, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def readers_url(message_id: int) -> str:
    return f"/api/v1/messages/{message_id}/readers/"


def test_members_who_read_up_to_the_message_are_listed(api, user, other_user):
    carol = make_user("carol", display_name="Carol")
    dave = make_user("dave")
    for person in (user, other_user, carol, dave):
        room_join(actor=person, room=general())
    first = send(user, "first")
    second = send(user, "second")
    room_mark_read(actor=other_user, room=general(), seq=second.seq)
    room_mark_read(actor=carol, room=general(), seq=first.seq)

    of_first = api.get(readers_url(first.pk))
    of_second = api.get(readers_url(second.pk))

    assert of_first.status_code == 200
    assert [{key: reader[key] for key in ("id", "username", "display_name")} for reader in of_first.json()] == [
        {"id": other_user.pk, "username": "bob", "display_name": "Bob"},
        {"id": carol.pk, "username": "carol", "display_name": "Carol"},
    ]
    assert [reader["username"] for reader in of_second.json()] == ["bob"]


def test_who_does_not_share_read_receipts_is_left_out_but_keeps_their_read_position(api, user, other_user):
    room_join(actor=other_user, room=general())
    message = send(user, "hello")
    other_user.preferences = {"share_read_receipts": False}
    other_user.save()

    room_mark_read(actor=other_user, room=general(), seq=message.seq)

    assert api.get(readers_url(message.pk)).json() == []
    assert Membership.objects.get(room=general(), user=other_user).last_read_seq == message.seq


def test_the_preference_is_validated_and_defaults_to_sharing(api, user):
    bad = api.patch("/api/v1/users/me/", {"preferences": {"share_read_receipts": "no"}}, format="json")
    default = api.get("/api/v1/users/me/").json()["preferences"]
    good = api.patch("/api/v1/users/me/", {"preferences": {"share_read_receipts": False}}, format="json")

    assert bad.status_code == 400
    assert default["share_read_receipts"] is True
    assert good.status_code == 200
    assert good.json()["preferences"]["share_read_receipts"] is False


def test_readers_of_unreadable_messages_are_404_like_missing_ones(api, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))
    secret = send(other_user, "secret", room=private)
    room_mark_read(actor=other_user, room=private, seq=secret.seq)

    hidden = api.get(readers_url(secret.pk))
    missing = api.get(readers_url(999999))

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_members_of_a_private_room_see_its_readers(client_for, user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    message = send(user, "hi", room=private)
    room_mark_read(actor=other_user, room=private, seq=message.seq)

    assert [r["id"] for r in client_for(user).get(readers_url(message.pk)).json()] == [other_user.pk]


def test_former_members_and_deactivated_users_are_not_listed(api, user, other_user):
    carol = make_user("carol")
    for person in (other_user, carol):
        room_join(actor=person, room=general())
    message = send(user, "hello")
    for person in (other_user, carol):
        room_mark_read(actor=person, room=general(), seq=message.seq)
    carol.is_active = False
    carol.save()

    assert [r["username"] for r in api.get(readers_url(message.pk)).json()] == ["bob"]


def test_the_list_is_capped(api, user, settings, monkeypatch):
    from messaging import limits

    monkeypatch.setattr(limits, "READERS", 3)
    message = send(user, "hello")
    for i in range(5):
        reader = make_user(f"reader{i}")
        room_join(actor=reader, room=general())
        room_mark_read(actor=reader, room=general(), seq=message.seq)

    assert [r["username"] for r in api.get(readers_url(message.pk)).json()] == ["reader0", "reader1", "reader2"]


def test_readers_need_a_signed_in_caller(anon_client, user):
    message = send(user, "hello")

    assert anon_client.get(readers_url(message.pk)).status_code == 401
