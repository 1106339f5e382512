"""Per-room notification levels and mutes: PATCH /api/v1/rooms/{slug}/membership/ and where they apply
(notifications, live unread counts, missed-message email)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from emails.models import MissedMessage
from emails.selectors import room_allows_email
from messaging.models import Membership, Notification, Room
from messaging.selectors import unread_counts_for_users
from messaging.services import direct_room_get_or_create, room_join
from messaging.tests.factories import general, make_room, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/rooms/"


def membership_url(room: Room) -> str:
    return f"{URL}{room.slug}/membership/"


def level(room: Room, user, notify: str = "all", muted_until=None) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        room=room, user=user, defaults={"notify": notify, "muted_until": muted_until}
    )
    return membership


def notified(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", flat=True))


# --- the endpoint ---------------------------------------------------------------------------------------


def test_a_member_sets_a_level_and_a_mute_and_room_payloads_carry_them(api, user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    until = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)

    response = api.patch(membership_url(room), {"notify": "mentions", "muted_until": until.isoformat()}, format="json")
    listed = {r["slug"]: r for r in api.get(URL).json()["results"]}[room.slug]

    assert response.status_code == 200
    assert response.json()["notify"] == listed["notify"] == "mentions"
    assert response.json()["muted_until"] == listed["muted_until"] == until.isoformat().replace("+00:00", "Z")
    assert Membership.objects.get(room=room, user=user).muted_until == until


def test_null_unmutes_and_the_other_setting_is_kept(api, user):
    room = make_room(members=(user,))
    level(room, user, "none", timezone.now() + timedelta(hours=1))

    response = api.patch(membership_url(room), {"muted_until": None}, format="json")

    assert (response.json()["notify"], response.json()["muted_until"]) == ("none", None)


def test_a_level_for_a_public_room_joins_it(api, user):
    room = general()

    response = api.patch(membership_url(room), {"notify": "none"}, format="json")

    assert response.status_code == 200
    assert response.json()["is_member"] is True
    assert Membership.objects.get(room=room, user=user).notify == "none"


def test_non_members_see_no_level_in_room_payloads(api):
    listed = api.get(f"{URL}general/").json()

    assert (listed["notify"], listed["muted_until"]) == (None, None)


def test_an_outsider_of_a_private_room_gets_404_and_nothing_is_created(api, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))

    hidden = api.patch(membership_url(room), {"notify": "none"}, format="json")
    missing = api.patch(f"{URL}no-such-room/membership/", {"notify": "none"}, format="json")

    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json() == missing.json()
    assert room.memberships.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"notify": "some"},
        {"notify": None},
        {"notify": ["all"]},
        {"muted_until": "tomorrow"},
        {"muted_until": 5},
        {"muted_until": "9999-12-31T00:00:00Z"},
    ],
)
def test_bad_settings_are_400_and_change_nothing(api, user, body):
    room = make_room(members=(user,))

    response = api.patch(membership_url(room), body, format="json")

    assert response.status_code == 400
    membership = Membership.objects.get(room=room, user=user)
    assert (membership.notify, membership.muted_until) == ("all", None)


def test_a_mute_more_than_a_year_ahead_is_refused_with_a_clear_error(api, user):
    room = make_room(members=(user,))
    later = (timezone.now() + timedelta(days=400)).isoformat()

    response = api.patch(membership_url(room), {"muted_until": later}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_field"
    assert "notify to none" in response.json()["detail"]


# --- notifications ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notify", "muted", "expected"),
    [
        ("all", False, ["mention"]),
        ("mentions", False, ["mention"]),
        ("none", False, []),
        ("all", True, []),
    ],
)
def test_mentions_follow_the_level(user, other_user, notify, muted, expected):
    room = make_room(members=(user, other_user))
    level(room, other_user, notify, timezone.now() + timedelta(minutes=5) if muted else None)

    send(user, "hey @bob", room=room)

    assert notified(other_user) == expected


@pytest.mark.parametrize(
    ("notify", "content", "expected"),
    [
        ("all", "psst", ["direct_message"]),
        ("mentions", "psst", []),
        ("mentions", "psst @bob", ["mention"]),
        ("none", "psst @bob", []),
    ],
)
def test_direct_messages_follow_the_level(user, other_user, notify, content, expected):
    room, _ = direct_room_get_or_create(actor=user, other=other_user)
    level(room, other_user, notify)

    send(user, content, room=room)

    assert notified(other_user) == expected


def test_a_mute_that_ended_mutes_nothing(user, other_user):
    room = make_room(members=(user, other_user))
    level(room, other_user, "all", timezone.now() - timedelta(minutes=1))

    send(user, "hey @bob", room=room)

    assert notified(other_user) == ["mention"]


def test_readers_of_a_public_room_without_a_membership_hear_every_mention(user, other_user):
    send(user, "hey @bob")

    assert notified(other_user) == ["mention"]


def test_one_members_level_does_not_quieten_another(user, other_user):
    carol = make_user("carol")
    room = make_room(members=(user, other_user, carol))
    level(room, other_user, "none")

    send(user, "hey @bob @carol", room=room)

    assert (notified(other_user), notified(carol)) == ([], ["mention"])


# --- live unread counts ---------------------------------------------------------------------------------


def test_live_unread_counts_leave_out_members_who_quietened_the_room(user, other_user):
    carol, dan = make_user("carol"), make_user("dan")
    room = make_room(members=(user, other_user, carol, dan))
    level(room, other_user, "none")
    level(room, carol, "mentions", timezone.now() + timedelta(hours=1))
    level(room, dan, "mentions")
    send(user, "news", room=room)
    ids = [other_user.pk, carol.pk, dan.pk]

    assert unread_counts_for_users(room_id=room.pk, user_ids=ids, skip_quiet=True) == {dan.pk: 1}
    assert unread_counts_for_users(room_id=room.pk, user_ids=ids) == {other_user.pk: 1, carol.pk: 1, dan.pk: 1}


def test_the_rooms_list_still_counts_unread_in_a_quiet_room(api, user, other_user):
    room = make_room(members=(user, other_user))
    level(room, user, "none")
    send(other_user, "news", room=room)

    listed = {r["slug"]: r for r in api.get(URL).json()["results"]}[room.slug]

    assert (listed["unread"], listed["notify"]) == (1, "none")


# --- email ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notify", "muted", "kind", "allowed"),
    [
        ("all", False, "direct_message", True),
        ("all", False, "mention", True),
        ("mentions", False, "mention", True),
        ("mentions", False, "direct_message", False),
        ("none", False, "mention", False),
        ("all", True, "mention", False),
    ],
)
def test_room_allows_email_follows_the_level(user, notify, muted, kind, allowed):
    room = make_room(members=(user,))
    membership = level(room, user, notify, timezone.now() + timedelta(hours=1) if muted else None)

    assert room_allows_email(user=user, room=room, membership=membership, kind=kind) is allowed
    assert room_allows_email(user=user, room=room, membership=None, kind=kind) is True


def test_a_muted_room_notes_nothing_for_email(user, other_user, settings):
    other_user.email = "bob@example.com"
    other_user.save()
    room = make_room(members=(user, other_user))
    level(room, other_user, "all", timezone.now() + timedelta(hours=1))
    room_join(actor=other_user, room=room)

    send(user, "hey @bob", room=room)

    assert not MissedMessage.objects.filter(user=other_user).exists()


def test_a_mute_set_after_the_mention_stops_the_email(user, other_user):
    from emails.selectors import still_unread

    other_user.email = "bob@example.com"
    other_user.save()
    room = make_room(members=(user, other_user))
    send(user, "hey @bob", room=room)
    items = list(MissedMessage.objects.filter(user=other_user).select_related("message__room", "notification"))
    assert items, "the mention was noted for email"

    level(room, other_user, "mentions", timezone.now() + timedelta(hours=1))

    assert still_unread(items, other_user) == []
