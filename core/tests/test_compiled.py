"""core.compiled: a queryset compiled once answers as the queryset does, with other values each time."""

from datetime import UTC, datetime

import pytest

from core.compiled import Compiled
from messaging.models import Room, RoomSanction
from messaging.selectors import active_bans
from messaging.tests.factories import make_room

pytestmark = pytest.mark.django_db


def _by_slug(slug: str, kind: str):
    return Room.objects.filter(slug=slug, kind=kind)


def test_each_call_binds_its_own_values():
    public, private = make_room(slug="pub"), make_room(slug="priv", kind=Room.Kind.PRIVATE)
    compiled = Compiled(_by_slug, slug="\x1fslug", kind="\x1fkind")

    assert compiled.first(slug="pub", kind=Room.Kind.PUBLIC) == public
    assert compiled.first(slug="priv", kind=Room.Kind.PRIVATE) == private
    assert compiled.first(slug="priv", kind=Room.Kind.PUBLIC) is None


def test_datetimes_are_bound_as_the_orm_binds_them(user):
    room = make_room()
    RoomSanction.objects.create(
        room=room, user=user, kind=RoomSanction.Kind.BAN, until=datetime(2030, 1, 1, tzinfo=UTC)
    )
    compiled = Compiled(
        lambda user_id, now: active_bans(user_id=user_id, room=room, now=now),
        user_id=-5,
        now=datetime(2000, 1, 2, tzinfo=UTC),
    )

    assert compiled.first(user_id=user.pk, now=datetime(2029, 12, 31, tzinfo=UTC)) is not None
    assert compiled.first(user_id=user.pk, now=datetime(2030, 1, 2, tzinfo=UTC)) is None


def test_a_placeholder_that_is_not_a_parameter_is_refused():
    compiled = Compiled(lambda slug, unused: Room.objects.filter(slug=slug), slug="\x1fslug", unused="\x1funused")

    with pytest.raises(ValueError, match="unused"):
        compiled.first(slug="general", unused="x")
