"""The room admin applies the API's rules (the services' checks): it never stores a room the API would
refuse, and never answers 500 for one the database refuses."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from messaging.models import Membership, Room
from messaging.services import direct_room_get_or_create
from messaging.services.rooms import room_kind_check, room_slug_check
from messaging.tests.factories import general, make_room

pytestmark = pytest.mark.django_db

ADD = "/admin/messaging/room/add/"
INLINE = {
    "memberships-TOTAL_FORMS": "0",
    "memberships-INITIAL_FORMS": "0",
    "memberships-MIN_NUM_FORMS": "0",
    "memberships-MAX_NUM_FORMS": "0",
}
DM_SLUG_ERROR = "slug must be letters, digits, - or _, at most 64, not starting with dm-."


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    client.raise_request_exception = False
    return client


def change_url(room: Room) -> str:
    return f"/admin/messaging/room/{room.pk}/change/"


def form(room: Room | None = None, **changes: str) -> dict[str, str]:
    """The room form as the admin page would post it, with ``changes``."""
    stored = {"slug": "", "name": "Room", "topic": "", "kind": "public"}
    if room is not None:
        stored = {"slug": room.slug, "name": room.name, "topic": room.topic, "kind": room.kind}
    return stored | changes | INLINE


def errors(response, field: str) -> list[str]:
    assert response.status_code == 200, response.status_code  # the form again, not a redirect or a 500
    return list(response.context["adminform"].form.errors.get(field, []))


def stored(room: Room) -> tuple[str, str, str | None]:
    room.refresh_from_db()
    return room.slug, room.kind, room.direct_key


# --- kind -------------------------------------------------------------------------------------------------


def test_a_room_cannot_become_a_direct_message(admin_client):
    room = make_room(slug="team")

    response = admin_client.post(change_url(room), form(room, kind="direct"))

    assert errors(response, "kind")
    assert stored(room) == ("team", "public", None)


def test_the_form_offers_only_the_kinds_a_room_can_be_given(admin_client):
    room = make_room(slug="team")

    choices = admin_client.get(change_url(room)).context["adminform"].form.fields["kind"].choices

    assert [value for value, _label in choices] == ["public", "private"]


def test_a_direct_message_cannot_be_added_in_the_admin(admin_client):
    response = admin_client.post(ADD, form(slug="pair", name="Pair", kind="direct"))

    assert errors(response, "kind")
    assert not Room.objects.filter(slug="pair").exists()


def test_a_direct_room_keeps_its_kind_and_slug(admin_client, user, other_user):
    dm, _ = direct_room_get_or_create(actor=user, other=other_user)
    before = stored(dm)

    page = admin_client.get(change_url(dm))
    response = admin_client.post(change_url(dm), form(dm, kind="public", slug="not-a-dm", name="Renamed"))

    assert b'name="kind"' not in page.content
    assert b'name="slug"' not in page.content
    assert response.status_code == 302
    assert stored(dm) == before
    assert dm.name == "Renamed"


def test_a_public_room_cannot_become_private_but_a_private_room_may_become_public(admin_client, user):
    public = make_room(slug="open")
    private = make_room(slug="closed", kind=Room.Kind.PRIVATE, members=(user,))

    refused = admin_client.post(change_url(public), form(public, kind="private"))
    opened = admin_client.post(change_url(private), form(private, kind="public"))

    assert errors(refused, "kind") == [
        "A public room cannot become private: create a private room and invite its members."
    ]
    assert stored(public) == ("open", "public", None)
    assert opened.status_code == 302
    assert stored(private) == ("closed", "public", None)


# --- slug ------------------------------------------------------------------------------------------------


def test_a_dm_slug_is_refused_with_the_apis_message(admin_client, api):
    room = make_room(slug="team")

    added = admin_client.post(ADD, form(slug="dm-1-2", name="Fake DM"))
    changed = admin_client.post(change_url(room), form(room, slug="dm-3-4"))
    over_the_api = api.post("/api/v1/rooms/", {"name": "Fake DM", "slug": "dm-1-2"}, format="json")

    assert errors(added, "slug") == errors(changed, "slug") == [DM_SLUG_ERROR]
    assert over_the_api.json()["detail"] == DM_SLUG_ERROR
    assert not Room.objects.filter(slug__startswith="dm-").exists()
    assert stored(room) == ("team", "public", None)


def test_a_slug_is_stored_lower_case_as_the_api_stores_it(admin_client):
    admin_client.post(ADD, form(slug="Ops_Room", name="Ops"))

    assert Room.objects.filter(slug="ops_room").exists()


def test_general_keeps_its_slug(admin_client):
    room = general()

    response = admin_client.post(change_url(room), form(room, slug="lobby"))

    assert errors(response, "slug") == ["The slug of general cannot change."]
    assert stored(room) == ("general", "public", None)


def test_an_existing_slug_that_breaks_todays_rule_does_not_block_other_changes(admin_client):
    legacy = make_room(slug="dm-legacy")  # stored before the admin applied the rule

    response = admin_client.post(change_url(legacy), form(legacy, name="Renamed"))

    assert response.status_code == 302
    legacy.refresh_from_db()
    assert (legacy.slug, legacy.name) == ("dm-legacy", "Renamed")


# --- adding ----------------------------------------------------------------------------------------------


def test_a_room_added_in_the_admin_is_created_by_the_service_with_the_admin_as_owner(
    admin_client, staff_user, admin_api
):
    response = admin_client.post(ADD, form(slug="board", name="Board", kind="private"))

    room = Room.objects.get(slug="board")
    assert response.status_code == 302
    assert response["Location"] == "/admin/messaging/room/"
    assert room.created_by == staff_user
    assert Membership.objects.get(room=room).user == staff_user
    assert admin_api.get("/api/v1/rooms/board/members/").status_code == 200  # reachable: it has a member


# --- the checks themselves -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "room_slug", "ok"),
    [
        ("team", None, "team"),
        ("  Team ", None, "team"),
        ("dm-1-2", None, None),
        ("DM-x", None, None),
        ("ünï", None, None),
        ("a b", None, None),
        ("x" * 65, None, None),
        ("", None, None),
        ("team", "team", "team"),
        ("Team", "Team", "Team"),
        ("dm-old", "dm-old", "dm-old"),
        ("other", "team", "other"),
        ("other", "general", None),
    ],
)
def test_room_slug_check(slug, room_slug, ok):
    room = Room(slug=room_slug, kind=Room.Kind.PUBLIC) if room_slug else None
    if ok is None:
        with pytest.raises(InvalidInput):
            room_slug_check(slug=slug, room=room)
    else:
        assert room_slug_check(slug=slug, room=room) == ok


@pytest.mark.parametrize(
    ("current", "kind", "ok"),
    [
        (None, "public", True),
        (None, "private", True),
        (None, "direct", False),
        (None, "other", False),
        ("public", "public", True),
        ("private", "public", True),
        ("public", "private", False),
        ("public", "direct", False),
        ("direct", "public", False),
        ("direct", "direct", True),
    ],
)
def test_room_kind_check(current, kind, ok):
    room = Room(slug="x", kind=current) if current else None
    if ok:
        room_kind_check(kind=kind, room=room)
    else:
        with pytest.raises(InvalidInput):
            room_kind_check(kind=kind, room=room)
