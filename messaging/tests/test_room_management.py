"""Room management: PATCH and DELETE /api/v1/rooms/{slug}/, roles, archived rooms, the room_* frames."""

import json

import pytest

from messaging.models import Membership, Message, Room
from messaging.services import direct_room_get_or_create
from messaging.tests.factories import general, make_room, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/rooms/"


def room_url(room: Room) -> str:
    return f"{URL}{room.slug}/"


def member_url(room: Room, user) -> str:
    return f"{URL}{room.slug}/members/{user.pk}/"


def room_frames(events) -> list[tuple[str, dict, int | None]]:
    """(event name, frame, user id or None) of the room_* frames published."""
    found = []
    for event in events:
        frame = json.loads(event["frame"]) if "frame" in event else {}
        if frame.get("type", "").startswith("room_"):
            found.append((event["event"], frame, event.get("user")))
    return found


def moderator(room: Room, user) -> None:
    Membership.objects.update_or_create(room=room, user=user, defaults={"role": Membership.Role.MODERATOR})


# --- PATCH /rooms/{slug}/ --------------------------------------------------------------------------------


def test_the_owner_renames_a_room_and_sets_its_topic(api, user):
    room = make_room(members=(user,))

    response = api.patch(room_url(room), {"name": "  Design team ", "topic": "Mockups"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["topic"], body["archived"], body["role"]) == ("Design team", "Mockups", False, "owner")
    room.refresh_from_db()
    assert (room.name, room.topic, room.slug) == ("Design team", "Mockups", body["slug"])


def test_a_member_cannot_rename_a_room(api, other_api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))

    response = other_api.patch(room_url(room), {"name": "Mine now"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    room.refresh_from_db()
    assert room.name != "Mine now"


def test_a_moderator_may_set_the_topic_but_not_rename_or_archive(api, other_api, user, other_user):
    room = make_room(members=(user,))
    moderator(room, other_user)

    topic = other_api.patch(room_url(room), {"topic": "Standup at 10"}, format="json")
    rename = other_api.patch(room_url(room), {"topic": "x", "name": "Renamed"}, format="json")
    archive = other_api.patch(room_url(room), {"archived": True}, format="json")

    assert topic.status_code == 200
    assert topic.json()["topic"] == "Standup at 10"
    assert (rename.status_code, archive.status_code) == (403, 403)
    room.refresh_from_db()
    assert (room.topic, room.archived) == ("Standup at 10", False)


def test_nobody_outside_a_public_room_manages_it_but_an_administrator(api, admin_api, other_user):
    room = make_room(members=(other_user,))

    refused = api.patch(room_url(room), {"name": "Hijacked"}, format="json")
    allowed = admin_api.patch(room_url(room), {"name": "Tidied"}, format="json")

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert allowed.json()["name"] == "Tidied"


def test_an_outsider_of_a_private_room_gets_404_on_every_management_endpoint(api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))
    missing = Room(slug="no-such-room")

    for target in (room, missing):
        answers = [
            api.patch(room_url(target), {"name": "x"}, format="json"),
            api.delete(room_url(target)),
            api.patch(member_url(target, other_user), {"role": "member"}, format="json"),
            api.patch(f"{URL}{target.slug}/members/me/", {"role": "owner"}, format="json"),
        ]
        assert [a.status_code for a in answers] == [404] * 4
        assert {a.json()["code"] for a in answers} == {"not_found"}
    assert Room.objects.filter(pk=room.pk, name=room.name).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "non_field_errors"),
        ({"slug": "renamed"}, "non_field_errors"),
        ({"name": ""}, "name"),
        ({"name": "   "}, None),
        ({"name": "x" * 101}, "name"),
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"topic": "t" * 251}, "topic"),
        ({"archived": "maybe"}, "archived"),
        ({"archived": None}, "archived"),
    ],
)
def test_bad_room_settings_are_400_and_change_nothing(api, user, body, field):
    room = make_room(members=(user,), name="Kept", topic="Kept topic")

    response = api.patch(room_url(room), body, format="json")

    assert response.status_code == 400
    if field:
        assert field in response.json()
    room.refresh_from_db()
    assert (room.name, room.topic, room.archived) == ("Kept", "Kept topic", False)


def test_general_cannot_be_archived_or_deleted(admin_api):
    general()

    archive = admin_api.patch(f"{URL}general/", {"archived": True}, format="json")
    delete = admin_api.delete(f"{URL}general/")

    assert (archive.status_code, delete.status_code) == (400, 400)
    assert {archive.json()["code"], delete.json()["code"]} == {"invalid_room"}
    assert Room.objects.filter(slug="general", archived=False).exists()


def test_a_direct_room_has_no_settings_to_change(api, user, other_user):
    room, _ = direct_room_get_or_create(actor=user, other=other_user)

    response = api.patch(room_url(room), {"name": "Us"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_room"


# --- archived rooms ---------------------------------------------------------------------------------------


def test_an_archived_room_is_readable_but_every_write_is_room_archived(api, user):
    room = make_room(members=(user,))
    message = send(user, "before", room=room)
    assert api.patch(room_url(room), {"archived": True}, format="json").json()["archived"] is True

    posted = api.post("/api/v1/messages/", {"room": room.slug, "content": "after"}, format="json")
    edited = api.patch(f"/api/v1/messages/{message.pk}/", {"content": "changed"}, format="json")
    deleted = api.delete(f"/api/v1/messages/{message.pk}/")
    history = api.get("/api/v1/messages/", {"room": room.slug})

    assert [r.status_code for r in (posted, edited, deleted)] == [403, 403, 403]
    assert {r.json()["code"] for r in (posted, edited, deleted)} == {"room_archived"}
    assert history.status_code == 200
    assert [m["content"] for m in history.json()["results"]] == ["before"]
    message.refresh_from_db()
    assert (message.content, message.is_deleted) == ("before", False)


def test_reactions_and_pins_in_an_archived_room_are_room_archived(api, user):
    room = make_room(members=(user,))
    message = send(user, "before", room=room)
    api.put(f"/api/v1/messages/{message.pk}/reactions/%F0%9F%91%8D/")
    assert api.patch(room_url(room), {"archived": True}, format="json").status_code == 200

    answers = [
        api.put(f"/api/v1/messages/{message.pk}/reactions/%F0%9F%8E%89/"),
        api.delete(f"/api/v1/messages/{message.pk}/reactions/%F0%9F%91%8D/"),
        api.put(f"/api/v1/messages/{message.pk}/pin/"),
    ]

    assert [(r.status_code, r.json()["code"]) for r in answers] == [(403, "room_archived")] * 3
    message.refresh_from_db()
    assert ([r["emoji"] for r in message.reaction_summary], message.pinned_at) == (["\N{THUMBS UP SIGN}"], None)


def test_an_unarchived_room_takes_messages_again(api, user):
    room = make_room(members=(user,), archived=True)

    assert api.patch(room_url(room), {"archived": False}, format="json").status_code == 200
    response = api.post("/api/v1/messages/", {"room": room.slug, "content": "back"}, format="json")

    assert response.status_code == 201


def test_an_archived_rooms_settings_may_still_change(api, user):
    room = make_room(members=(user,), archived=True)

    response = api.patch(room_url(room), {"name": "Old projects"}, format="json")

    assert response.status_code == 200
    assert response.json()["archived"] is True


# --- DELETE /rooms/{slug}/ -------------------------------------------------------------------------------


def test_the_owner_deletes_a_room_with_its_messages(api, user, other_user, events):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    send(other_user, "gone soon", room=room)
    events.clear()

    response = api.delete(room_url(room))

    assert response.status_code == 204
    assert not Room.objects.filter(pk=room.pk).exists()
    assert not Message.objects.filter(room_id=room.pk).exists()
    frames = room_frames(events)
    assert {(name, frame["type"], to) for name, frame, to in frames} == {
        ("user", "room_deleted", user.pk),
        ("user", "room_deleted", other_user.pk),
    }
    assert any(e["event"] == "close_room" and e["room"] == room.pk for e in events)
    assert not [e for e in events if "frame" in e and json.loads(e["frame"])["type"] == "messages_purged"]


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.MODERATOR])
def test_only_owners_and_administrators_delete_rooms(api, other_api, admin_api, user, other_user, role):
    room = make_room(members=(user,))
    Membership.objects.create(room=room, user=other_user, role=role)

    refused = other_api.delete(room_url(room))
    allowed = admin_api.delete(room_url(room))

    assert refused.status_code == 403
    assert allowed.status_code == 204


# --- roles ---------------------------------------------------------------------------------------------


def test_the_owner_hands_a_private_room_over_and_leaves(api, other_api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))

    refused = api.delete(f"{URL}{room.slug}/members/me/")
    promoted = api.patch(member_url(room, other_user), {"role": "owner"}, format="json")
    left = api.delete(f"{URL}{room.slug}/members/me/")

    assert refused.json()["code"] == "last_owner"
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "owner"
    assert promoted.json()["user"]["id"] == other_user.pk
    assert left.status_code == 204
    assert list(room.memberships.values_list("user_id", "role")) == [(other_user.pk, "owner")]


def test_the_last_owner_cannot_stop_being_one(api, user, other_user):
    room = make_room(members=(user, other_user))

    response = api.patch(f"{URL}{room.slug}/members/me/", {"role": "member"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "last_owner"
    assert Membership.objects.get(room=room, user=user).role == "owner"


def test_an_owner_makes_a_moderator_and_an_administrator_changes_roles_too(api, admin_api, user, other_user):
    room = make_room(members=(user, other_user))

    first = api.patch(member_url(room, other_user), {"role": "moderator"}, format="json")
    second = admin_api.patch(member_url(room, other_user), {"role": "member"}, format="json")

    assert (first.json()["role"], second.json()["role"]) == ("moderator", "member")


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.MODERATOR])
def test_members_and_moderators_cannot_change_roles(other_api, user, other_user, role):
    room = make_room(members=(user,))
    Membership.objects.create(room=room, user=other_user, role=role)

    promote_self = other_api.patch(member_url(room, other_user), {"role": "owner"}, format="json")
    demote_owner = other_api.patch(member_url(room, user), {"role": "member"}, format="json")

    assert (promote_self.status_code, demote_owner.status_code) == (403, 403)
    assert Membership.objects.get(room=room, user=other_user).role == role
    assert Membership.objects.get(room=room, user=user).role == "owner"


@pytest.mark.parametrize("body", [{}, {"role": "admin"}, {"role": "OWNER"}, {"role": 1}, {"role": None}])
def test_bad_roles_are_400(api, user, other_user, body):
    room = make_room(members=(user, other_user))

    response = api.patch(member_url(room, other_user), body, format="json")

    assert response.status_code == 400
    assert "role" in response.json()
    assert Membership.objects.get(room=room, user=other_user).role == "member"


def test_a_role_for_someone_who_is_not_a_member_is_404(api, user, other_user):
    room = make_room(members=(user,))

    unknown_user = api.patch(f"{URL}{room.slug}/members/999999/", {"role": "member"}, format="json")
    not_member = api.patch(member_url(room, other_user), {"role": "member"}, format="json")

    assert (unknown_user.status_code, not_member.status_code) == (404, 404)
    assert not Membership.objects.filter(room=room, user=other_user).exists()


def test_direct_rooms_have_no_roles(api, user, other_user):
    room, _ = direct_room_get_or_create(actor=user, other=other_user)

    response = api.patch(member_url(room, other_user), {"role": "owner"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_room"


# --- room_* frames -----------------------------------------------------------------------------------


def test_a_public_room_created_or_updated_goes_to_everyone_once(api, user, events):
    events.clear()

    slug = api.post(URL, {"name": "Lobby"}, format="json").json()["slug"]
    api.patch(f"{URL}{slug}/", {"topic": "Say hi"}, format="json")

    frames = room_frames(events)
    assert [(name, frame["type"]) for name, frame, _ in frames] == [
        ("everyone", "room_created"),
        ("everyone", "room_updated"),
    ]
    assert frames[1][1]["room"] == {
        "id": Room.objects.get(slug=slug).pk,
        "slug": slug,
        "name": "Lobby",
        "topic": "Say hi",
        "kind": "public",
        "archived": False,
        "created_at": frames[1][1]["room"]["created_at"],
        "direct_members": None,
    }
    assert all(e["kind"] == "notifications" for e in events if e["event"] == "everyone")


def test_a_private_rooms_frames_go_to_its_members_only(api, user, other_user, events):
    make_user("carol")
    events.clear()

    slug = api.post(URL, {"name": "Secret", "kind": "private"}, format="json").json()["slug"]
    room = Room.objects.get(slug=slug)
    Membership.objects.create(room=room, user=other_user)
    api.patch(f"{URL}{slug}/", {"archived": True}, format="json")

    frames = room_frames(events)
    assert [(name, frame["type"], to) for name, frame, to in frames] == [
        ("user", "room_created", user.pk),
        ("user", "room_updated", user.pk),
        ("user", "room_updated", other_user.pk),
    ]
    assert frames[1][1]["room"]["archived"] is True


def test_a_direct_room_is_announced_to_its_two_people_with_their_names(user, other_user, events):
    events.clear()

    direct_room_get_or_create(actor=user, other=other_user)
    direct_room_get_or_create(actor=other_user, other=user)  # exists: nothing new

    frames = room_frames(events)
    assert {to for _, _, to in frames} == {user.pk, other_user.pk}
    assert len(frames) == 2
    assert [m["username"] for m in frames[0][1]["room"]["direct_members"]] == ["alice", "bob"]


def test_nothing_changed_sends_nothing(api, user, events):
    room = make_room(members=(user,), name="Same")
    events.clear()

    response = api.patch(room_url(room), {"name": "Same"}, format="json")

    assert response.status_code == 200
    assert room_frames(events) == []


def test_the_room_admin_announces_a_change(admin_client, user, events):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    events.clear()

    response = admin_client.post(
        f"/admin/messaging/room/{room.pk}/change/",
        {
            "slug": room.slug,
            "name": "Renamed in the admin",
            "topic": "",
            "kind": "private",
            "archived": "on",
            "created_at_0": "2025-01-01",
            "created_at_1": "00:00:00",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "0",
            "memberships-0-id": Membership.objects.get(room=room).pk,
            "memberships-0-room": room.pk,
            "memberships-0-role": "owner",
            "memberships-0-notify": "mentions",
            "memberships-0-muted_until_0": "",
            "memberships-0-muted_until_1": "",
        },
    )

    assert response.status_code == 302, response.content
    room.refresh_from_db()
    assert (room.name, room.archived) == ("Renamed in the admin", True)
    assert Membership.objects.get(room=room).notify == "mentions"  # levels are editable there too
    assert [(frame["type"], to) for _, frame, to in room_frames(events)] == [("room_updated", user.pk)]


def test_the_room_admin_refuses_a_room_without_an_owner(admin_client, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    rows = list(Membership.objects.filter(room=room).order_by("pk"))
    form: dict[str, object] = {
        "slug": room.slug,
        "name": room.name,
        "topic": "",
        "kind": "private",
        "created_at_0": "2025-01-01",
        "created_at_1": "00:00:00",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "2",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "0",
    }
    for index, row in enumerate(rows):
        form |= {f"memberships-{index}-id": row.pk, f"memberships-{index}-room": room.pk}
        form[f"memberships-{index}-role"] = "member"
        form[f"memberships-{index}-notify"] = "all"

    response = admin_client.post(f"/admin/messaging/room/{room.pk}/change/", form)

    assert response.status_code == 200
    assert b"needs an owner" in response.content
    assert Membership.objects.get(room=room, user=user).role == "owner"


def test_someone_added_to_a_private_room_sees_it_appear_and_nobody_else_is_told(api, user, other_user, events):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    events.clear()

    api.post(f"{URL}{room.slug}/members/", {"user": other_user.pk}, format="json")

    assert [(name, frame["type"], to) for name, frame, to in room_frames(events)] == [
        ("user", "room_created", other_user.pk)
    ]


def test_joining_a_public_room_announces_nothing(other_api, events):
    room = make_room()
    events.clear()

    other_api.post(f"{URL}{room.slug}/members/", {}, format="json")

    assert room_frames(events) == []
