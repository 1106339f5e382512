"""Queries compiled once (core.prepared) against the ORM evaluating the same queryset: the same rows on
this run's database (SQLite, or PostgreSQL under DATABASE_URL), the values bound where they belong."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.prepared import OutOfRange, PreparedQuery
from messaging.models import Membership, Message, Room, RoomSanction
from messaging.services import message_edit, message_pin, reaction_set
from messaging.tests.factories import general, make_room, send
from users.models import User

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "seq", "sender__username", "created_at", "edited_at", "is_deleted", "reaction_summary", "pinned_at")


def page(limit: int, *, room_id: int, **cursors: int):
    messages = Message.objects.filter(room_id=room_id)
    if "before" in cursors:
        messages = messages.filter(seq__lt=cursors["before"])
    if "after" in cursors:
        messages = messages.filter(seq__gt=cursors["after"])
    return messages.order_by("-seq")[:limit].values_list(*COLUMNS)


@pytest.fixture
def messages(user, other_user):
    sent = [send(user if n % 2 else other_user, f"m{n}") for n in range(6)]
    message_edit(actor=user, message_id=sent[1].pk, content="edited")
    reaction_set(actor=other_user, message_id=sent[1].pk, emoji="👍", added=True)
    message_pin(actor=user, message_id=sent[3].pk, pinned=True)
    return sent


def test_rows_are_what_the_orm_returns_for_every_shape_and_value(messages):
    query = PreparedQuery(page)
    room_id = general().pk
    for limit in (1, 3, 10):
        for cursors in ({}, {"before": 4}, {"after": 2}, {"after": 1, "before": 6}, {"before": 1}):
            expected = list(page(limit, room_id=room_id, **cursors))
            assert query.rows(limit, room_id=room_id, **cursors) == expected, (limit, cursors)
    by_seq = {row[1]: row for row in query.rows(10, room_id=room_id, after=1, before=5)}
    edited, pinned = by_seq[messages[1].seq], by_seq[messages[3].seq]
    assert edited[4].tzinfo is not None  # aware, as the ORM's
    assert edited[6] == [{"emoji": "👍", "count": 1, "user_ids": [messages[0].sender_id]}]
    assert pinned[7] is not None


def test_dicts_are_what_values_returns(messages):
    query = PreparedQuery(
        lambda shape, *, room_id: Message.objects.filter(room_id=room_id).order_by("seq").values(*COLUMNS)
    )
    room_id = general().pk

    assert query.dicts(room_id=room_id) == list(
        Message.objects.filter(room_id=room_id).order_by("seq").values(*COLUMNS)
    )


def test_each_value_is_bound_where_it_belongs_also_in_subqueries_and_for_datetimes(user, other_user):
    """The same user id twice, a datetime in a subquery, constants of the query left as they are."""
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    RoomSanction.objects.create(
        room=private, user=other_user, kind=RoomSanction.Kind.BAN, until=timezone.now() + timedelta(hours=1)
    )

    def build(shape, *, user_id, now, slug):
        banned = RoomSanction.objects.filter(
            Q(until__isnull=True) | Q(until__gt=now), room=OuterRef("pk"), user_id=user_id, kind=RoomSanction.Kind.BAN
        )
        member = Membership.objects.filter(room=OuterRef("pk"), user_id=user_id)
        return (
            Room.objects.filter(slug=slug)
            .annotate(banned=Exists(banned), member=Exists(member))
            .values_list("slug", "banned", "member")
        )

    query = PreparedQuery(build)
    now = timezone.now()
    assert query.rows(user_id=user.pk, now=now, slug=private.slug) == [(private.slug, False, True)]
    assert query.rows(user_id=other_user.pk, now=now, slug=private.slug) == [(private.slug, True, False)]
    assert query.rows(user_id=other_user.pk, now=now + timedelta(hours=2), slug=private.slug) == [
        (private.slug, False, False)
    ]
    assert query.rows(user_id=user.pk, now=now, slug="nowhere") == []


def test_the_sql_is_compiled_once_per_shape(user):
    calls = []

    def build(shape, *, pk):
        calls.append(shape)
        return User.objects.filter(pk=pk).values_list("username")

    query = PreparedQuery(build)
    for _ in range(3):
        assert query.rows(pk=user.pk) == [(user.username,)]
        with CaptureQueriesContext(connection) as queries:
            assert query.rows("other", pk=user.pk + 1000) == []
        assert len(queries) == 1

    assert calls == [(), (), "other", "other"]  # two compilations (two sets of sentinels) per shape


def test_a_value_written_into_the_sql_or_left_unused_is_refused(user):
    sliced = PreparedQuery(lambda shape, *, limit: User.objects.order_by("pk")[:limit].values_list("pk"))
    unused = PreparedQuery(lambda shape, *, pk: User.objects.values_list("pk"))

    with pytest.raises(ValueError, match="written into its SQL"):
        sliced.rows(limit=5)
    with pytest.raises(ValueError, match="does not use"):
        unused.rows(pk=user.pk)


def test_values_no_column_can_hold_and_other_types_are_refused(user):
    query = PreparedQuery(lambda shape, *, pk: User.objects.filter(pk=pk).values_list("pk"))

    with pytest.raises(OutOfRange):
        query.rows(pk=2**63)
    with pytest.raises(TypeError):
        query.rows(pk=True)
    with pytest.raises(TypeError):
        query.rows(pk=[user.pk])  # type: ignore[arg-type]  # the wrong type is the point
    joined = PreparedQuery(lambda shape, *, since: User.objects.filter(date_joined__gt=since).values_list("pk"))
    with pytest.raises(TypeError, match="aware"):
        joined.rows(since=timezone.now().replace(tzinfo=None))
    assert query.rows(pk=2**63 - 1) == []
