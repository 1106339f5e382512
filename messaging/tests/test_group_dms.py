"""Group direct conversations: POST /api/v1/rooms/direct/ {"users": [ids]}, one room per set of people."""

import json
import threading

import pytest
from django.db import connection

from messaging.models import Membership, Notification, Room
from messaging.services import direct_room_get_or_create
from messaging.services.rooms import direct_room_for
from messaging.tests.factories import send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

DIRECT = "/api/v1/rooms/direct/"


@pytest.fixture
def carol(db):
    return make_user("carol", display_name="Carol")


@pytest.fixture
def dave(db):
    return make_user("dave")


def test_a_group_is_one_room_for_its_set_of_people_in_any_order(api, client_for, user, other_user, carol):
    first = api.post(DIRECT, {"users": [carol.pk, other_user.pk]}, format="json")
    again = client_for(carol).post(DIRECT, {"users": [user.pk, other_user.pk]}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    room = first.json()
    assert again.json()["id"] == room["id"]
    assert room["kind"] == "direct"
    assert room["slug"].startswith("dm-g-")
    assert room["name"] == "alice, bob, carol"
    assert room["direct_peers"] == ["bob", "carol"]
    assert room["direct_peer"] is None
    assert again.json()["direct_peers"] == ["alice", "bob"]
    stored = Room.objects.get(pk=room["id"])
    assert stored.direct_key == ":".join(str(pk) for pk in sorted([user.pk, other_user.pk, carol.pk]))
    assert set(stored.memberships.values_list("user_id", flat=True)) == {user.pk, other_user.pk, carol.pk}


def test_one_person_in_users_is_the_one_to_one_room_and_user_still_works(api, user, other_user):
    one = api.post(DIRECT, {"users": [other_user.pk]}, format="json").json()
    legacy = api.post(DIRECT, {"user": other_user.pk}, format="json").json()

    assert one["id"] == legacy["id"]
    assert one["slug"] == f"dm-{min(user.pk, other_user.pk)}-{max(user.pk, other_user.pk)}"
    assert (one["direct_peer"], one["direct_peers"]) == ("bob", ["bob"])


def test_a_group_is_not_the_pair_inside_it(api, user, other_user, carol):
    pair, _ = direct_room_get_or_create(actor=user, other=other_user)

    group = api.post(DIRECT, {"users": [other_user.pk, carol.pk]}, format="json").json()

    assert group["id"] != pair.pk


def test_nine_people_fit_and_the_slug_stays_short(api, user):
    others = [make_user(f"user{index}") for index in range(8)]

    response = api.post(DIRECT, {"users": [u.pk for u in others]}, format="json")

    assert response.status_code == 201
    assert len(response.json()["slug"]) <= 64
    assert len(response.json()["direct_peers"]) == 8


@pytest.mark.parametrize(
    "users",
    [
        [],
        "bob",
        [0],
        [None],
        [1.5],
        [True],
        list(range(1000, 1009)),  # 9 others
        {"id": 2},
    ],
)
def test_a_bad_users_list_is_400_and_creates_nothing(api, other_user, users):
    response = api.post(DIRECT, {"users": users}, format="json")

    assert response.status_code == 400
    assert "users" in response.json()
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


def test_duplicates_the_caller_or_both_fields_are_400(api, user, other_user, carol):
    answers = [
        api.post(DIRECT, {"users": [other_user.pk, other_user.pk]}, format="json"),
        api.post(DIRECT, {"users": [other_user.pk, user.pk]}, format="json"),
        api.post(DIRECT, {"users": [user.pk]}, format="json"),
        api.post(DIRECT, {"user": other_user.pk, "users": [carol.pk]}, format="json"),
    ]

    assert [a.status_code for a in answers] == [400] * 4
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


def test_an_unknown_or_inactive_person_is_404(api, other_user, carol):
    carol.is_active = False
    carol.save()

    inactive = api.post(DIRECT, {"users": [other_user.pk, carol.pk]}, format="json")
    unknown = api.post(DIRECT, {"users": [other_user.pk, 999999]}, format="json")

    assert inactive.status_code == unknown.status_code == 404
    assert inactive.json() == unknown.json() == {"detail": "No such user.", "code": "not_found"}
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


def test_a_message_in_a_group_notifies_every_other_member(user, other_user, carol, dave):
    room, _ = direct_room_for(actor=user, others=[other_user, carol])

    send(user, "hi both", room=room)

    notified = Notification.objects.filter(kind="direct_message")
    assert sorted(n.recipient.username for n in notified) == ["bob", "carol"]


def test_an_outsider_cannot_see_a_group_and_members_cannot_leave_it_or_add_people(
    api, client_for, user, other_user, carol, dave
):
    room, _ = direct_room_for(actor=user, others=[other_user, carol])
    outsider = client_for(dave)

    assert outsider.get(f"/api/v1/rooms/{room.slug}/").status_code == 404
    assert outsider.get("/api/v1/messages/", {"room": room.slug}).status_code == 404
    assert api.delete(f"/api/v1/rooms/{room.slug}/members/me/").json()["code"] == "invalid_room"
    added = api.post(f"/api/v1/rooms/{room.slug}/members/", {"user": dave.pk}, format="json")
    assert added.json()["code"] == "invalid_room"
    assert room.memberships.count() == 3


def test_a_new_group_is_announced_to_its_members_only(user, other_user, carol, dave, events):
    events.clear()

    room, _ = direct_room_for(actor=user, others=[other_user, carol])

    frames = [(e["user"], json.loads(e["frame"])) for e in events if e["event"] == "user"]
    assert sorted(to for to, _ in frames) == sorted([user.pk, other_user.pk, carol.pk])
    payload = frames[0][1]["room"]
    assert payload["slug"] == room.slug
    assert [m["username"] for m in payload["direct_members"]] == ["alice", "bob", "carol"]
    assert not [e for e in events if e["event"] == "everyone"]


def test_a_group_created_twice_at_once_is_one_room(transactional_db, settings):
    """Two first messages at the same time: the unique key lets one insert win, the other reads it."""
    people = [make_user(name) for name in ("ann", "ben", "cat")]
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def create(actor, others):
        try:
            barrier.wait(timeout=5)
            room, _ = direct_room_for(actor=actor, others=others)
            results.append(room.pk)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=create, args=(people[0], people[1:])),
        threading.Thread(target=create, args=(people[2], people[:2])),
    ]
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers: the race needs PostgreSQL")
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(set(results)) == 1
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1
    assert Membership.objects.filter(room_id=results[0]).count() == 3


def test_the_integrity_error_path_returns_the_stored_room(user, other_user, carol, monkeypatch):
    """What the losing request of a race sees: its insert refused, the winner's room returned."""
    winner, _ = direct_room_for(actor=user, others=[other_user, carol])
    real_filter = Room.objects.filter
    calls = {"n": 0}

    def first_lookup_misses(*args, **kwargs):
        query = real_filter(*args, **kwargs)
        if "direct_key" in kwargs and calls["n"] == 0:
            calls["n"] += 1
            return query.none()
        return query

    monkeypatch.setattr(Room.objects, "filter", first_lookup_misses)

    room, created = direct_room_for(actor=carol, others=[user, other_user])

    assert (room.pk, created) == (winner.pk, False)
