"""The one unread rule, read for many users of one room at once (what the hub recounts with)."""

from __future__ import annotations

from messaging.models import Room
from messaging.selectors import unread_counts, unread_counts_for_users
from messaging.services import message_delete, room_mark_read
from messaging.tests.factories import make_room, send
from users.tests.factories import make_user


def test_it_agrees_with_each_users_own_count(db, django_assert_num_queries):
    ana, ben, cid, dan = (make_user(name) for name in ("ana", "ben", "cid", "dan"))
    room = make_room(kind=Room.Kind.PRIVATE, members=(ana, ben, cid))
    send(ana, "one", room=room)
    room_mark_read(actor=ben, room=room)
    send(cid, "two", room=room)
    deleted = send(cid, "three", room=room)
    message_delete(actor=cid, message_id=deleted.pk)

    with django_assert_num_queries(1):
        counts = unread_counts_for_users(room_id=room.pk, user_ids=[ana.pk, ben.pk, cid.pk, dan.pk])

    assert counts == {ana.pk: 1, ben.pk: 1, cid.pk: 1}  # dan is no member: 0, as unread_counts says
    for user in (ana, ben, cid, dan):
        assert counts.get(user.pk, 0) == unread_counts(user=user, rooms=[room]).get(room.pk, 0)


def test_no_users_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert unread_counts_for_users(room_id=1, user_ids=[]) == {}
