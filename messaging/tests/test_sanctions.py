"""Bans and mutes go through one sanction path (``moderation.room_sanction``, the views' ``_sanctions``):
the same refusals for both kinds, over REST, and the differences that remain (a ban may be for good and
closes sockets; a mute always ends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import InvalidField
from messaging.models import RoomSanction
from messaging.services.moderation import room_sanction, room_sanction_lift
from messaging.tests.factories import make_room
from messaging.tests.test_moderation import client_of, soon
from users.models import AuditEntry

pytestmark = pytest.mark.django_db
KINDS = ("bans", "mutes")


@pytest.fixture
def room(user, other_user):
    return make_room(members=(user, other_user))  # public; user owns it


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_refuses_the_same_things_and_stores_nothing(room, user, other_user, kind):
    url = f"/api/v1/rooms/{room.slug}/{kind}/"
    client = client_of(user)

    assert client.post(url, {"user": user.pk, "until": soon()}, format="json").status_code == 403
    assert client.post(url, {"user": 987654, "until": soon()}, format="json").status_code == 400
    assert client.post(url, {"user": "x", "until": soon()}, format="json").status_code == 400
    assert client.post(url, {"user": other_user.pk, "until": "yesterday"}, format="json").status_code == 400
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert client.post(url, {"user": other_user.pk, "until": past}, format="json").status_code == 400
    outsider = client_of(other_user).post(url, {"user": user.pk, "until": soon()}, format="json")
    assert outsider.status_code == 403
    assert client.delete(f"{url}{other_user.pk}/").status_code == 404
    assert not RoomSanction.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_listed_and_lifted_the_same_way(room, user, other_user, kind):
    url = f"/api/v1/rooms/{room.slug}/{kind}/"
    client = client_of(user)

    created = client.post(url, {"user": other_user.pk, "until": soon(), "reason": "spam"}, format="json")
    assert created.status_code == 201
    listed = client.get(url).json()["results"]
    assert [(entry["user"]["id"], entry["reason"]) for entry in listed] == [(other_user.pk, "spam")]
    assert client.delete(f"{url}{other_user.pk}/").status_code == 204
    assert client.get(url).json()["results"] == []
    singular = kind[:-1]
    assert list(AuditEntry.objects.values_list("action", flat=True).order_by("id")) == [
        f"room.{singular}",
        f"room.un{singular}",
    ]


def test_a_ban_may_be_for_good_and_a_mute_may_not(room, user, other_user):
    client = client_of(user)

    assert client.post(f"/api/v1/rooms/{room.slug}/mutes/", {"user": other_user.pk}, format="json").status_code == 400
    ban = client.post(f"/api/v1/rooms/{room.slug}/bans/", {"user": other_user.pk}, format="json")
    assert (ban.status_code, ban.json()["until"]) == (201, None)
    assert not room.memberships.filter(user=other_user).exists()


def test_an_unknown_kind_is_refused(room, user, other_user):
    with pytest.raises(InvalidField):
        room_sanction(actor=user, room=room, kind="exile", user_id=other_user.pk)

    assert not RoomSanction.objects.exists()


def test_lifting_a_kind_leaves_the_other(room, user, other_user):
    until = timezone.now() + timedelta(hours=1)
    room_sanction(actor=user, room=room, kind=RoomSanction.Kind.MUTE, user_id=other_user.pk, until=until)
    room_sanction(actor=user, room=room, kind=RoomSanction.Kind.BAN, user_id=other_user.pk)

    room_sanction_lift(actor=user, room=room, kind=RoomSanction.Kind.BAN, user_id=other_user.pk)

    assert list(RoomSanction.objects.values_list("kind", flat=True)) == ["mute"]
