import pytest

from messaging.models import Membership, Room
from messaging.services import direct_room_get_or_create, message_delete, room_join
from messaging.tests.factories import general, make_room, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/rooms/"
DIRECT = "/api/v1/rooms/direct/"


def rooms_by_slug(client) -> dict[str, dict]:
    return {room["slug"]: room for room in client.get(URL, {"page_size": 100}).json()["results"]}


def members_url(room: Room, who: object = None) -> str:
    return f"{URL}{room.slug}/members/" + ("" if who is None else f"{who}/")


# --- listing ------------------------------------------------------------------------------------------


def test_list_shows_public_rooms_and_my_rooms_but_not_others_private_rooms(api, user, other_user):
    mine = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    theirs = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))
    lobby = make_room()

    body = api.get(URL).json()

    slugs = [room["slug"] for room in body["results"]]
    assert set(slugs) == {"general", lobby.slug, mine.slug}
    assert theirs.slug not in slugs
    assert {"next", "previous", "results"} <= body.keys()


def test_list_counts_others_live_messages_after_my_read_state(api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    send(other_user, "one", room=room)
    send(user, "mine, never unread", room=room)
    send(other_user, "two", room=room)
    deleted = send(other_user, "deleted", room=room)
    message_delete(actor=other_user, message_id=deleted.pk)
    Membership.objects.filter(room=room, user=user).update(last_read_seq=1)

    listed = rooms_by_slug(api)[room.slug]

    assert listed["unread"] == 1
    assert listed["is_member"] is True
    assert listed["role"] == "owner"
    assert listed["last_read_seq"] == 1
    assert listed["last_seq"] == 4


def test_public_rooms_i_have_not_joined_count_zero_unread(api, other_user):
    send(other_user, "hello everyone")

    listed = rooms_by_slug(api)["general"]

    assert listed["unread"] == 0
    assert listed["is_member"] is False
    assert listed["role"] is None
    assert listed["last_read_seq"] is None


def test_joined_public_rooms_count_what_arrived_after_joining(api, user, other_user):
    send(other_user, "before I joined")
    room_join(actor=user, room=general())
    send(other_user, "after")
    send(other_user, "and again")

    assert rooms_by_slug(api)["general"]["unread"] == 2


@pytest.mark.parametrize("extra_rooms", [2, 15])
def test_list_runs_a_fixed_number_of_queries_whatever_the_number_of_rooms(
    api, user, other_user, extra_rooms, django_assert_num_queries
):
    for index in range(extra_rooms):
        room = make_room(kind=Room.Kind.PRIVATE if index % 2 else Room.Kind.PUBLIC, members=(user, other_user))
        send(other_user, "hi", room=room)
    dm = Room.objects.create(
        slug=f"dm-x-{extra_rooms}", name="DM", kind=Room.Kind.DIRECT, direct_key=f"x:{extra_rooms}"
    )
    Membership.objects.bulk_create([Membership(room=dm, user=user), Membership(room=dm, user=other_user)])

    # authentication (user row), page count, page rows
    with django_assert_num_queries(3):
        response = api.get(URL, {"page_size": 100})

    assert response.status_code == 200
    assert len(response.json()["results"]) == extra_rooms + 2
    assert rooms_by_slug(api)[dm.slug]["direct_peer"] == "bob"


def test_only_direct_rooms_name_a_peer(api, user, other_user):
    # Rooms where the caller has company: a member other than the caller exists in each.
    general_room = general()
    room_join(actor=other_user, room=general_room)
    public = make_room(members=(other_user, user))
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    dm, _ = direct_room_get_or_create(actor=user, other=other_user)

    listed = rooms_by_slug(api)
    one = {slug: api.get(f"{URL}{slug}/").json() for slug in (general_room.slug, public.slug, private.slug)}

    assert [listed[room.slug]["direct_peer"] for room in (general_room, public, private)] == [None, None, None]
    assert [room["direct_peer"] for room in one.values()] == [None, None, None]
    assert listed[dm.slug]["direct_peer"] == "bob"


def test_listing_needs_a_token(anon_client):
    response = anon_client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- creating -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["public", "private"])
def test_creating_a_room_makes_the_creator_its_owner(api, user, kind):
    response = api.post(URL, {"name": "Design Team", "kind": kind, "topic": "pixels"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "design-team"
    assert body["kind"] == kind
    assert body["topic"] == "pixels"
    assert (body["is_member"], body["role"], body["unread"]) == (True, "owner", 0)
    room = Room.objects.get(slug="design-team")
    assert room.created_by == user
    assert Membership.objects.get(room=room).user == user
    assert Membership.objects.get(room=room).role == Membership.Role.OWNER


def test_kind_defaults_to_public(api):
    assert api.post(URL, {"name": "Lobby"}, format="json").json()["kind"] == "public"


def test_an_automatic_slug_that_is_taken_gets_a_number(api):
    make_room(slug="design")

    response = api.post(URL, {"name": "Design"}, format="json")

    assert response.status_code == 201
    assert response.json()["slug"] == "design-2"


def test_an_explicit_slug_is_used_lower_cased(api):
    response = api.post(URL, {"name": "Anything", "slug": "Ops_Room"}, format="json")

    assert response.status_code == 201
    assert response.json()["slug"] == "ops_room"


def test_a_taken_explicit_slug_is_400_slug_taken(api):
    make_room(slug="ops")

    response = api.post(URL, {"name": "Ops", "slug": "ops"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "slug_taken"
    assert Room.objects.filter(name="Ops").count() == 0


@pytest.mark.parametrize(
    ("name", "slug"),
    [("日本語のチャット", "room"), ("!!!", "room"), ("DM planning", "room-dm-planning")],
)
def test_names_that_slugify_badly_still_get_a_usable_slug(api, name, slug):
    response = api.post(URL, {"name": name}, format="json")

    assert response.status_code == 201
    assert response.json()["slug"] == slug
    assert response.json()["name"] == name


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 12}, "name"),
        ({"name": True}, "name"),
        ({"name": None}, "name"),
        ({"name": ["a"]}, "name"),
        ({"name": {"a": 1}}, "name"),
        ({"name": "ok", "kind": "direct"}, "kind"),
        ({"name": "ok", "kind": "secret"}, "kind"),
        ({"name": "ok", "kind": 1}, "kind"),
        ({"name": "ok", "kind": ["public"]}, "kind"),
        ({"name": "ok", "slug": "bad slug!"}, "slug"),
        ({"name": "ok", "slug": "x" * 65}, "slug"),
        ({"name": "ok", "slug": 123}, "slug"),
        ({"name": "ok", "slug": "ünï"}, "slug"),
        ({"name": "ok", "slug": "dm-1-2"}, "code"),
        ({"name": "ok", "topic": "x" * 251}, "topic"),
        ({"name": "ok", "topic": 5}, "topic"),
    ],
)
def test_bad_rooms_are_400_and_nothing_is_created(api, payload, key):
    before = Room.objects.count()

    response = api.post(URL, payload, format="json")

    assert response.status_code == 400
    assert key in response.json()
    assert Room.objects.count() == before
    assert Membership.objects.count() == 0


def test_a_dm_prefixed_slug_is_invalid_field(api):
    response = api.post(URL, {"name": "x", "slug": "dm-7"}, format="json")

    assert response.json()["code"] == "invalid_field"


def test_malformed_json_is_400_parse_error(api):
    response = api.post(URL, data="{nope", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# --- one room -----------------------------------------------------------------------------------------


def test_a_public_room_is_visible_to_anyone(api):
    room = make_room(name="Lobby")

    response = api.get(f"{URL}{room.slug}/")

    assert response.status_code == 200
    assert response.json()["name"] == "Lobby"
    assert response.json()["id"] == room.pk


def test_a_private_room_of_others_is_404_exactly_like_a_missing_room(api, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))

    hidden = api.get(f"{URL}{private.slug}/")
    missing = api.get(f"{URL}no-such-room/")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "No such room.", "code": "not_found"}


def test_members_see_their_private_room(api, user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))

    response = api.get(f"{URL}{private.slug}/")

    assert response.status_code == 200
    assert response.json()["role"] == "member"


# --- members ------------------------------------------------------------------------------------------


def test_members_are_listed_with_their_roles(api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))

    response = api.get(members_url(room))

    assert response.status_code == 200
    assert [(m["user"]["username"], m["role"]) for m in response.json()["results"]] == [
        ("alice", "owner"),
        ("bob", "member"),
    ]


def test_members_of_others_private_room_are_404(api, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))

    assert api.get(members_url(private)).status_code == 404


def test_joining_a_public_room_needs_no_body_and_is_idempotent(api, user, other_user):
    room = make_room()
    send(other_user, "old", room=room)

    first = api.post(members_url(room))
    again = api.post(members_url(room), {}, format="json")

    assert first.status_code == again.status_code == 201
    assert first.json()["user"]["id"] == user.pk
    assert first.json()["role"] == "member"
    assert first.json()["last_read_seq"] == 1
    assert again.json() == first.json()
    assert Membership.objects.filter(room=room, user=user).count() == 1


def test_joining_a_private_room_uninvited_is_404(api, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))

    response = api.post(members_url(private))

    assert response.status_code == 404
    assert not Membership.objects.filter(room=private, user__username="alice").exists()


def test_the_owner_of_a_private_room_adds_a_user(api, user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    response = api.post(members_url(private), {"user": other_user.pk}, format="json")

    assert response.status_code == 201
    assert response.json()["user"]["username"] == "bob"
    assert response.json()["role"] == "member"
    assert Membership.objects.filter(room=private, user=other_user).exists()


def test_a_plain_member_cannot_add_users_to_a_private_room(api, user, other_user):
    carol = make_user("carol")
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))

    response = api.post(members_url(private), {"user": carol.pk}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Membership.objects.filter(room=private, user=carol).exists()


def test_adding_an_unknown_user_is_404(api, user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    response = api.post(members_url(private), {"user": 999_999}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such user.", "code": "not_found"}


def test_adding_an_inactive_user_is_404(api, user):
    ghost = make_user("ghost", is_active=False)
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    response = api.post(members_url(private), {"user": ghost.pk}, format="json")

    assert response.status_code == 404
    assert not Membership.objects.filter(user=ghost).exists()


@pytest.mark.parametrize("payload", [{"user": "x"}, {"user": 0}, {"user": -3}, {"user": True}, {"user": [1]}])
def test_a_bad_member_body_is_400(api, user, payload):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    response = api.post(members_url(private), payload, format="json")

    assert response.status_code == 400
    assert "user" in response.json()
    assert Membership.objects.filter(room=private).count() == 1


def test_nobody_is_added_to_a_direct_room(api, user, other_user):
    room = api.post(DIRECT, {"user": other_user.pk}, format="json").json()
    carol = make_user("carol")

    response = api.post(f"{URL}{room['slug']}/members/", {"user": carol.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_room"


def test_leaving_a_public_room(api, user):
    room = make_room()
    room_join(actor=user, room=room)

    response = api.delete(members_url(room, "me"))

    assert response.status_code == 204
    assert not Membership.objects.filter(room=room, user=user).exists()


def test_leaving_a_room_i_am_not_in_is_404(api):
    assert api.delete(members_url(make_room(), "me")).status_code == 404


def test_leaving_by_my_own_id_works_like_me(api, user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))

    assert api.delete(members_url(private, user.pk)).status_code == 204
    assert not Membership.objects.filter(room=private, user=user).exists()


def test_a_plain_member_cannot_remove_someone_else(api, user, other_user):
    carol = make_user("carol")
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user, carol))

    response = api.delete(members_url(private, carol.pk))

    assert response.status_code == 403
    assert Membership.objects.filter(room=private, user=carol).exists()


def test_nobody_but_site_admins_removes_people_from_a_public_room(api, admin_api, user, other_user):
    room = make_room()
    room_join(actor=other_user, room=room)

    assert api.delete(members_url(room, other_user.pk)).status_code == 403
    assert admin_api.delete(members_url(room, other_user.pk)).status_code == 204


def test_a_room_admin_removes_members(client_for, user, other_user):
    carol = make_user("carol")
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user, carol))
    Membership.objects.filter(room=private, user=other_user).update(role=Membership.Role.MODERATOR)

    response = client_for(other_user).delete(members_url(private, carol.pk))

    assert response.status_code == 204
    assert not Membership.objects.filter(room=private, user=carol).exists()


def test_an_owner_may_leave_when_another_owner_remains(api, user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    Membership.objects.filter(room=private, user=other_user).update(role=Membership.Role.OWNER)

    assert api.delete(members_url(private, "me")).status_code == 204


def test_removing_an_unknown_user_is_404(api, user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    assert api.delete(members_url(private, 999_999)).status_code == 404


@pytest.mark.parametrize("ref", ["you", "-1", "1.5"])
def test_a_member_reference_that_is_not_me_or_an_id_is_404(api, user, ref):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    assert api.delete(members_url(private, ref)).status_code == 404
    assert Membership.objects.filter(room=private).count() == 1


def test_the_last_owner_cannot_leave_a_private_room_with_others_in_it(api, user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))

    response = api.delete(members_url(private, "me"))

    assert response.status_code == 400
    assert response.json()["code"] == "last_owner"
    assert Membership.objects.filter(room=private, user=user).exists()


def test_the_last_owner_may_leave_a_private_room_once_alone(api, user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    assert api.delete(members_url(private, "me")).status_code == 204


def test_nobody_leaves_a_direct_room(api, other_user):
    slug = api.post(DIRECT, {"user": other_user.pk}, format="json").json()["slug"]

    response = api.delete(f"{URL}{slug}/members/me/")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_room"


def test_leaving_a_private_room_closes_my_sockets_of_that_room(client_for, events):
    alice, bob = make_user("alice2"), make_user("bob2")
    private = make_room(kind=Room.Kind.PRIVATE, members=(bob, alice))
    events.clear()

    response = client_for(alice).delete(members_url(private, "me"))

    assert response.status_code == 204
    closes = [e for e in events if "close" in e]
    assert [(e["group"], e["close"], e["room"]) for e in closes] == [(f"chat.user.{alice.pk}", 4404, private.pk)]


def test_a_removed_member_has_their_sockets_of_that_room_closed(client_for, events):
    owner, member = make_user("owner"), make_user("member")
    private = make_room(kind=Room.Kind.PRIVATE, members=(owner, member))
    events.clear()

    response = client_for(owner).delete(members_url(private, member.pk))

    assert response.status_code == 204
    assert [(e["group"], e["close"]) for e in events if "close" in e] == [(f"chat.user.{member.pk}", 4404)]
    assert client_for(member).get(f"{URL}{private.slug}/").status_code == 404


def test_leaving_a_public_room_closes_nothing(client_for, events):
    alice = make_user("alice3")
    room = make_room()
    room_join(actor=alice, room=room)
    events.clear()

    assert client_for(alice).delete(members_url(room, "me")).status_code == 204
    assert [e for e in events if "close" in e] == []


# --- direct rooms -------------------------------------------------------------------------------------


def test_a_direct_room_is_created_once_per_pair(api, other_api, user, other_user):
    first = api.post(DIRECT, {"user": other_user.pk}, format="json")
    again = api.post(DIRECT, {"user": other_user.pk}, format="json")
    reverse = other_api.post(DIRECT, {"user": user.pk}, format="json")

    assert (first.status_code, again.status_code, reverse.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == reverse.json()["id"]
    assert first.json()["kind"] == "direct"
    assert first.json()["direct_peer"] == "bob"
    assert reverse.json()["direct_peer"] == "alice"
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1
    assert set(Membership.objects.filter(room_id=first.json()["id"]).values_list("user_id", flat=True)) == {
        user.pk,
        other_user.pk,
    }


def test_a_direct_room_with_myself_is_400(api, user):
    response = api.post(DIRECT, {"user": user.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_field"
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


@pytest.mark.parametrize("client_name", ["api", "admin_api"])
def test_a_direct_room_with_an_unknown_or_inactive_user_is_404(request, client_name):
    client = request.getfixturevalue(client_name)
    ghost = make_user("ghost", is_active=False)

    unknown = client.post(DIRECT, {"user": 999_999}, format="json")
    inactive = client.post(DIRECT, {"user": ghost.pk}, format="json")

    assert unknown.status_code == inactive.status_code == 404
    assert unknown.json() == inactive.json() == {"detail": "No such user.", "code": "not_found"}
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


@pytest.mark.parametrize(
    "payload", [{}, {"user": None}, {"user": "bob"}, {"user": 0}, {"user": True}, {"user": [2]}, {"user": 1.5}]
)
def test_a_bad_direct_body_is_400(api, payload):
    response = api.post(DIRECT, payload, format="json")

    assert response.status_code == 400
    assert "user" in response.json()
    assert not Room.objects.filter(kind=Room.Kind.DIRECT).exists()


def test_only_the_two_people_read_a_direct_room(api, other_user, client_for):
    slug = api.post(DIRECT, {"user": other_user.pk}, format="json").json()["slug"]
    send(other_user, "psst", room=Room.objects.get(slug=slug))
    outsider = client_for(make_user("eve"))

    assert outsider.get(f"{URL}{slug}/").status_code == 404
    assert outsider.get(f"{URL}{slug}/members/").status_code == 404
    assert outsider.post(f"{URL}{slug}/members/").status_code == 404
    assert outsider.get("/api/v1/messages/", {"room": slug}).status_code == 404
    assert slug not in rooms_by_slug(outsider)
    assert api.get("/api/v1/messages/", {"room": slug}).json()["results"][0]["content"] == "psst"


# --- read state ---------------------------------------------------------------------------------------


def test_marking_read_defaults_to_the_newest_message_and_clears_the_unread_count(api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))
    for i in range(3):
        send(other_user, f"m{i}", room=room)
    assert rooms_by_slug(api)[room.slug]["unread"] == 3

    response = api.post(f"{URL}{room.slug}/read/")

    assert response.status_code == 200
    assert response.json()["last_read_seq"] == 3
    assert rooms_by_slug(api)[room.slug]["unread"] == 0


def test_marking_read_up_to_a_seq_leaves_the_rest_unread(api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))
    for i in range(5):
        send(other_user, f"m{i}", room=room)

    response = api.post(f"{URL}{room.slug}/read/", {"seq": 2}, format="json")

    assert response.json()["last_read_seq"] == 2
    assert rooms_by_slug(api)[room.slug]["unread"] == 3


def test_read_state_never_goes_backwards(api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))
    for i in range(4):
        send(other_user, f"m{i}", room=room)
    api.post(f"{URL}{room.slug}/read/", {"seq": 3}, format="json")

    response = api.post(f"{URL}{room.slug}/read/", {"seq": 1}, format="json")

    assert response.status_code == 200
    assert response.json()["last_read_seq"] == 3
    assert Membership.objects.get(room=room, user=user).last_read_seq == 3


def test_a_seq_beyond_the_newest_message_stops_at_the_newest(api, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))
    send(other_user, "only", room=room)

    assert api.post(f"{URL}{room.slug}/read/", {"seq": 10**12}, format="json").json()["last_read_seq"] == 1


@pytest.mark.parametrize(
    "payload", [{"seq": -1}, {"seq": "x"}, {"seq": 1.5}, {"seq": None}, {"seq": True}, {"seq": [1]}]
)
def test_a_bad_seq_is_400(api, user, other_user, payload):
    room = make_room(kind=Room.Kind.PRIVATE, members=(other_user, user))
    send(other_user, "m", room=room)

    response = api.post(f"{URL}{room.slug}/read/", payload, format="json")

    assert response.status_code == 400
    assert "seq" in response.json()
    assert Membership.objects.get(room=room, user=user).last_read_seq == 0


def test_marking_a_public_room_read_joins_it_to_hold_the_read_state(api, user, other_user):
    room = make_room()
    send(other_user, "m", room=room)

    response = api.post(f"{URL}{room.slug}/read/")

    assert response.status_code == 200
    assert response.json()["last_read_seq"] == 1
    assert rooms_by_slug(api)[room.slug]["is_member"] is True


def test_marking_others_private_room_read_is_404(api, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))

    assert api.post(f"{URL}{private.slug}/read/").status_code == 404
    assert not Membership.objects.filter(room=private, user__username="alice").exists()


def test_public_rooms_come_first_with_general_first_among_them(api, user, other_user):
    from messaging.services import direct_room_get_or_create, room_create

    room_create(actor=user, name="Aardvarks", kind="private")
    room_create(actor=user, name="Alpha", kind="public")
    direct_room_get_or_create(actor=user, other=other_user)

    slugs = [room["slug"] for room in api.get("/api/v1/rooms/").json()["results"]]

    assert slugs[:2] == ["general", "alpha"]
    assert slugs[2] == "aardvarks"
    assert slugs[3].startswith("dm-")
