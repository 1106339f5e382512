"""The history request's fast paths (SQL compiled once, query parameters read without DRF's fields)
decide exactly as the paths they stand in for: the same rooms found or not found, the same pages, the
same parameters and the same 400s."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.http import QueryDict
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from messaging import selectors
from messaging.models import Membership, Room, RoomSanction
from messaging.serializers import HistoryQuerySerializer, RoomSerializer, history_query
from messaging.services import direct_room_get_or_create
from messaging.tests.factories import general, make_room, send
from users.models import User
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def orm_room(user: User, **lookup):
    """What room_get_for_user decided before its SQL was compiled once: the ORM's query, the same rule."""
    if not user.is_active:
        return None
    room = selectors._room_with_access_orm(user, lookup)
    if room is None:
        return None
    banned, member = (room.__dict__[name] for name in ("user_banned", "user_is_member"))  # the annotations
    return room if not banned and ((room.is_public and not user.is_guest) or member) else None


def fast_room(user: User, **lookup):
    try:
        return selectors.room_get_for_user(user=user, **lookup)
    except selectors.RoomNotFound:
        return None


def test_room_access_is_decided_as_the_orm_decides(user, other_user):
    guest = make_user("guest", role=User.Role.GUEST)
    gone = make_user("gone", is_active=False)
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, guest))
    public = make_room(members=(user,))
    banned_for_good = make_room()
    RoomSanction.objects.create(room=banned_for_good, user=user, kind=RoomSanction.Kind.BAN)
    ban_over = make_room()
    RoomSanction.objects.create(
        room=ban_over, user=user, kind=RoomSanction.Kind.BAN, until=timezone.now() - timedelta(minutes=1)
    )
    ban_running = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    RoomSanction.objects.create(
        room=ban_running, user=user, kind=RoomSanction.Kind.BAN, until=timezone.now() + timedelta(minutes=5)
    )
    rooms = [general(), private, public, banned_for_good, ban_over, ban_running]
    lookups: list[dict[str, Any]] = [{"slug": room.slug} for room in rooms] + [{"room_id": room.pk} for room in rooms]
    lookups += [{"slug": "nowhere"}, {"room_id": 10**6}, {"slug": None}]
    decided = set()
    for person in (user, other_user, guest, gone):
        for lookup in lookups:
            fast = fast_room(person, **lookup)
            orm_lookup = {"pk": lookup["room_id"]} if "room_id" in lookup else {"slug": lookup["slug"] or "general"}
            expected = orm_room(person, **orm_lookup)
            assert (fast and fast.pk) == (expected and expected.pk), (person.username, lookup)
            if fast is not None:
                assert [getattr(fast, f.attname) for f in Room._meta.concrete_fields] == [
                    getattr(expected, f.attname) for f in Room._meta.concrete_fields
                ]
            decided.add(fast is not None)
    assert decided == {True, False}
    assert Membership.objects.filter(room=private, user=guest).exists()


@pytest.mark.parametrize("room_id", [2**63, -(2**63) - 1, 10**30, True, "1", 1.0])
def test_odd_room_ids_are_not_found_or_found_as_the_orm_finds_them(user, room_id):
    expected = orm_room(user, pk=room_id)

    assert fast_room(user, room_id=room_id) == expected


def test_a_cursor_past_any_column_is_paged_as_the_orm_pages_it(user):
    for n in range(3):
        send(user, f"m{n}")

    page = selectors.message_payload_page(user=user, before=2**64)
    empty = selectors.message_payload_page(user=user, after=2**64)

    assert [p["content"] for p in page.payloads] == ["m0", "m1", "m2"]
    assert (page.has_older, page.has_newer) == (False, True)
    assert empty.payloads == []


QUERIES = [
    "",
    "room=general",
    "room=design-team_2&limit=20&before=40&after=3",
    "limit=1000",
    "limit=0",
    "limit=-1",
    "limit=+5",
    "limit=5.0",
    "limit=%205",
    "limit=",
    "limit=abc",
    "limit=%C2%B2",
    "limit=" + "9" * 1001,
    "limit=" + "9" * 999,
    "before=0",
    "after=0",
    "after=-0",
    "room=",
    "room=%20general",
    "room=general%0A",
    "room=g%C3%A9n%C3%A9ral",
    "room=" + "a" * 200,
    "room=a&room=b",
    "limit=2&limit=x",
    "unknown=1&room=x",
]


@pytest.mark.parametrize("query", QUERIES)
def test_history_parameters_are_read_as_the_serializer_reads_them(query):
    params = QueryDict(query)
    serializer = HistoryQuerySerializer(data=params)
    if serializer.is_valid():
        assert history_query(params) == dict(serializer.validated_data)
    else:
        with pytest.raises(ValidationError) as refused:
            history_query(params)
        assert refused.value.detail == serializer.errors


def test_the_room_list_pages_are_what_the_queryset_gives(client_for, user, other_user):
    """Every page of /rooms/ against the same serializer over room_list_for_user: members and not, a
    guest, a ban, a direct room with its peer, unread counts, a mute."""
    guest = make_user("guest", role=User.Role.GUEST)
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, guest), name="b private")
    make_room(name="a public")
    banned = make_room(name="c banned")
    RoomSanction.objects.create(room=banned, user=user, kind=RoomSanction.Kind.BAN)
    direct, _ = direct_room_get_or_create(actor=user, other=other_user)
    send(other_user, "unread", room=direct)
    send(other_user, "hello")
    Membership.objects.filter(room=private, user=user).update(muted_until=timezone.now() + timedelta(hours=1))
    for person in (user, other_user, guest):
        api = client_for(person)
        expected = RoomSerializer(selectors.room_list_for_user(user=person), many=True).data
        pages = [api.get("/api/v1/rooms/", {"page_size": 2, "page": n}).json() for n in (1, 2, 3)]
        listed = [room for body in pages if "results" in body for room in body["results"]]
        assert json.dumps(listed) == json.dumps(expected), person.username
        assert {body.get("count") for body in pages if "results" in body} == {len(expected)}
    mine = client_for(user).get("/api/v1/rooms/").json()["results"]
    assert [(room["direct_peer"], room["unread"]) for room in mine if room["kind"] == "direct"] == [("bob", 1)]
    assert [room["muted_until"] is not None for room in mine if room["slug"] == private.slug] == [True]
    assert client_for(user).get("/api/v1/rooms/", {"page": 9}).status_code == 404
