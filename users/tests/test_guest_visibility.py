"""Guests see, and open conversations with, only the people who share a room with them (as Slack's and
Mattermost's guests do); to a guest anyone else is exactly as unknown as an id that does not exist.
Members are unchanged: they see everyone, guests included."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from messaging.models import Room
from messaging.services import room_add_member
from messaging.tests.factories import make_room
from realtime import presence
from users import selectors
from users.models import User
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def people():
    """A guest added to a private project room with ``teammate``; ``stranger`` shares nothing with it."""
    guest = make_user("guest", role="guest")
    teammate = make_user("teammate")
    stranger = make_user("stranger", display_name="Stranger Danger")
    project = make_room(kind=Room.Kind.PRIVATE, members=(teammate,))
    room_add_member(actor=teammate, room=project, user=guest)
    return guest, teammate, stranger


def usernames(response) -> set[str]:
    body = response.json()
    users = body["results"] if isinstance(body, dict) else body
    return {user.get("username", user.get("name")) for user in users}


def test_a_guest_lists_only_itself_and_the_people_it_shares_a_room_with(people):
    guest, _teammate, _stranger = people

    assert usernames(client_of(guest).get("/api/v1/users/")) == {"guest", "teammate"}


def test_a_guest_searching_users_finds_nobody_it_shares_no_room_with(people):
    guest = people[0]
    client = client_of(guest)

    assert client.get("/api/v1/users/?search=stranger").json()["results"] == []
    assert client.get("/api/v1/users/?search=Danger").json()["results"] == []
    assert usernames(client.get("/api/v1/users/?search=team")) == {"teammate"}


def test_a_hidden_user_answers_the_same_404_as_an_unknown_id(people):
    guest, teammate, stranger = people
    client = client_of(guest)

    hidden = client.get(f"/api/v1/users/{stranger.pk}/")
    unknown = client.get("/api/v1/users/987654/")
    assert (hidden.status_code, hidden.json()) == (unknown.status_code, unknown.json())
    assert hidden.status_code == 404
    assert (
        client.get(f"/api/v1/users/{stranger.pk}/avatar/").json() == client.get("/api/v1/users/987654/avatar/").json()
    )
    assert client.get(f"/api/v1/users/{teammate.pk}/").status_code == 200


def test_back_chats_user_list_hides_them_too(people):
    guest = people[0]

    assert usernames(client_of(guest).get("/v1/users/")) == {"guest", "teammate"}


def test_members_still_see_everyone_guests_included(people):
    _guest, _teammate, stranger = people

    assert usernames(client_of(stranger).get("/api/v1/users/")) == {"guest", "teammate", "stranger"}


def test_a_guest_in_a_public_room_sees_its_readers_but_not_other_guests(people):
    guest, _teammate, stranger = people
    lounge = make_room(kind=Room.Kind.PUBLIC, members=(stranger,))
    room_add_member(actor=stranger, room=lounge, user=guest)
    make_user("other-guest", role="guest")

    # Every user who is not a guest reads a public room, with or without a membership row.
    assert usernames(client_of(guest).get("/api/v1/users/")) == {"guest", "teammate", "stranger"}


def test_a_guest_removed_from_its_only_room_sees_only_itself(people):
    guest, teammate, _stranger = people
    Room.objects.get(memberships__user=guest).memberships.filter(user=guest).delete()

    assert usernames(client_of(guest).get("/api/v1/users/")) == {"guest"}
    assert client_of(guest).get(f"/api/v1/users/{teammate.pk}/").status_code == 404


def test_a_guest_cannot_open_a_direct_conversation_with_a_stranger(people):
    guest, teammate, stranger = people
    client = client_of(guest)

    hidden = client.post("/api/v1/rooms/direct/", {"user": stranger.pk}, format="json")
    unknown = client.post("/api/v1/rooms/direct/", {"user": 987654}, format="json")
    assert (hidden.status_code, hidden.json()) == (404, unknown.json())
    group = client.post("/api/v1/rooms/direct/", {"users": [teammate.pk, stranger.pk]}, format="json")
    assert (group.status_code, group.json()) == (404, unknown.json())
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


def test_a_guest_opens_a_direct_conversation_with_a_roommate(people):
    guest, teammate, _stranger = people

    response = client_of(guest).post("/api/v1/rooms/direct/", {"user": teammate.pk}, format="json")

    assert response.status_code == 201


def test_a_member_may_write_to_a_guest_who_then_sees_them(people):
    guest, _teammate, stranger = people

    assert client_of(stranger).post("/api/v1/rooms/direct/", {"user": guest.pk}, format="json").status_code == 201
    assert client_of(guest).get(f"/api/v1/users/{stranger.pk}/").status_code == 200


def test_a_guest_cannot_add_a_stranger_to_a_room_it_manages(people):
    guest, _teammate, stranger = people
    own = make_room(kind=Room.Kind.PRIVATE, members=(guest,))

    response = client_of(guest).post(f"/api/v1/rooms/{own.slug}/members/", {"user": stranger.pk}, format="json")

    assert response.status_code == 404
    assert not own.memberships.filter(user=stranger).exists()


def test_connected_users_lists_only_the_people_a_guest_may_see(people, monkeypatch):
    guest, teammate, stranger = people
    clients = [f"{guest.pk}@1.2.3.4:1", f"{teammate.pk}@1.2.3.4:2", f"{stranger.pk}@1.2.3.4:3"]
    monkeypatch.setattr(presence, "connected_clients", lambda: clients)
    client = client_of(guest)

    assert usernames(client.get("/api/v1/connected-users/")) == {"guest", "teammate"}
    assert client.get("/connected_users").json() == {"clients": clients[:2]}
    assert client.get("/ws/connected_users").json() == {"connected_users": clients[:2]}
    assert len(usernames(client_of(stranger).get("/api/v1/connected-users/"))) == 3


def test_the_public_kind_users_relies_on_is_messagings():
    assert selectors.PUBLIC_ROOM_KIND == Room.Kind.PUBLIC
