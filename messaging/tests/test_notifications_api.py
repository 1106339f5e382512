import json

import pytest

from messaging.models import Notification
from messaging.tests.factories import make_notification
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"
READ = "/api/v1/notifications/read/"


@pytest.fixture
def notification_rate(settings):
    """Set the per-user budget of notifications (recipients) for one test."""

    def set_rate(rate: str) -> None:
        settings.CHAT_NOTIFICATION_RATE = rate

    return set_rate


def notification_frames(events: list[dict]) -> list[tuple[str, dict]]:
    return [
        (e["group"], json.loads(e["frame"])) for e in events if "frame" in e and '"type":"notification"' in e["frame"]
    ]


# --- listing ------------------------------------------------------------------------------------------


def test_list_shows_only_my_notifications_newest_first(api, user, other_user):
    older = make_notification(user, "older")
    make_notification(other_user, "not mine")
    newer = make_notification(user, "newer", read=True)

    body = api.get(URL).json()

    assert [n["id"] for n in body["results"]] == [newer.pk, older.pk]
    first = body["results"][0]
    assert set(first) == {"id", "kind", "title", "body", "data", "created_at", "read_at"}
    assert first["read_at"] is not None
    assert body["results"][1]["read_at"] is None


def test_the_list_is_paginated(api, user):
    made = [make_notification(user, f"n{i}") for i in range(5)]

    first = api.get(URL, {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert [n["id"] for n in first["results"]] == [made[4].pk, made[3].pk]
    assert [n["id"] for n in second["results"]] == [made[2].pk, made[1].pk]
    assert first["previous"] is None
    assert second["previous"] is not None
    assert first["count"] == 5


@pytest.mark.parametrize("count", [3, 40])
def test_a_page_runs_a_fixed_number_of_queries_whatever_its_size(api, user, count, django_assert_num_queries):
    for i in range(count):
        make_notification(user, f"n{i}", read=bool(i % 2))
    api.get(URL)  # warm the token path (last_login etc.)

    # authentication (user row), page count, page rows
    with django_assert_num_queries(3):
        body = api.get(URL, {"page_size": 50}).json()

    assert len(body["results"]) == count


@pytest.mark.parametrize("flag", ["1", "true"])
def test_unread_only(api, user, flag):
    unread = make_notification(user, "unread")
    make_notification(user, "read", read=True)

    body = api.get(URL, {"unread": flag}).json()

    assert [n["id"] for n in body["results"]] == [unread.pk]


def test_unread_0_lists_everything(api, user):
    make_notification(user, read=True)
    make_notification(user)

    assert len(api.get(URL, {"unread": "0"}).json()["results"]) == 2


def test_an_empty_unread_flag_means_not_given(api, user):
    make_notification(user, read=True)

    assert len(api.get(URL, {"unread": ""}).json()["results"]) == 1


@pytest.mark.parametrize("flag", ["maybe", "2", "yes please"])
def test_a_bad_unread_flag_is_400(api, flag):
    response = api.get(URL, {"unread": flag})

    assert response.status_code == 400
    assert "unread" in response.json()


def test_listing_needs_a_token(anon_client):
    assert anon_client.get(URL).status_code == 401


# --- marking read -------------------------------------------------------------------------------------


def test_marking_read_by_ids_touches_only_mine(api, user, other_user):
    first, second = make_notification(user), make_notification(user)
    theirs = make_notification(other_user)

    response = api.post(READ, {"ids": [first.pk, theirs.pk, 999_999]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"updated": 1}
    first.refresh_from_db()
    second.refresh_from_db()
    theirs.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at is None
    assert theirs.read_at is None


def test_marking_all_read(api, user, other_user):
    for _ in range(3):
        make_notification(user)
    make_notification(user, read=True)
    theirs = make_notification(other_user)

    response = api.post(READ, {"all": True}, format="json")

    assert response.json() == {"updated": 3}
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api.get(URL, {"unread": "1"}).json()["results"] == []


def test_marking_read_again_changes_nothing(api, user):
    notification = make_notification(user, read=True)
    read_at = notification.read_at

    assert api.post(READ, {"ids": [notification.pk]}, format="json").json() == {"updated": 0}
    notification.refresh_from_db()
    assert notification.read_at == read_at


def test_other_devices_are_told_what_was_read(api, user, events):
    notification = make_notification(user)
    events.clear()

    api.post(READ, {"ids": [notification.pk]}, format="json")

    frames = [(e["group"], json.loads(e["frame"])) for e in events]
    assert frames == [(f"chat.user.{user.pk}", {"type": "notifications_read", "ids": [notification.pk]})]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"ids": "x"},
        {"ids": [0]},
        {"ids": []},
        {"ids": [-1]},
        {"ids": ["a"]},
        {"ids": [True]},
        {"ids": [1.5]},
        {"ids": None},
        {"ids": {"1": 1}},
        {"ids": [2**63]},
        {"all": False},
        {"all": "maybe"},
        {"ids": list(range(1, 1002))},
    ],
)
def test_bad_read_bodies_are_400_and_change_nothing(api, user, payload):
    notification = make_notification(user)

    response = api.post(READ, payload, format="json")

    assert response.status_code == 400
    notification.refresh_from_db()
    assert notification.read_at is None


def test_marking_read_needs_a_token(anon_client):
    assert anon_client.post(READ, {"all": True}, format="json").status_code == 401


# --- sending ------------------------------------------------------------------------------------------


def test_sending_stores_one_notification_per_recipient_and_pushes_it_to_them(client_for, events):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    events.clear()

    response = client_for(alice).post(URL, {"to": [bob.pk, carol.pk], "title": "Lunch?", "body": "at 1"}, format="json")

    assert response.status_code == 201
    assert response.json() == {"sent": 2}
    stored = Notification.objects.order_by("recipient_id")
    assert [(n.recipient_id, n.kind, n.title, n.body, n.actor_id) for n in stored] == [
        (bob.pk, "user", "Lunch?", "at 1", alice.pk),
        (carol.pk, "user", "Lunch?", "at 1", alice.pk),
    ]
    frames = notification_frames(events)
    assert sorted(group for group, _ in frames) == sorted([f"chat.user.{bob.pk}", f"chat.user.{carol.pk}"])
    for group, frame in frames:
        stored_one = Notification.objects.get(recipient_id=int(group.rsplit(".", 1)[1]))
        assert frame["notification"]["id"] == stored_one.pk
        assert frame["notification"]["title"] == "Lunch?"
        assert frame["notification"]["data"] == {"from": {"id": alice.pk, "username": "alice"}}


def test_the_recipient_reads_it_over_rest(api, other_api, other_user):
    api.post(URL, {"to": [other_user.pk], "title": "Hi"}, format="json")

    results = other_api.get(URL, {"unread": "1"}).json()["results"]

    assert [(n["title"], n["body"], n["kind"]) for n in results] == [("Hi", "", "user")]


def test_the_sender_is_never_a_recipient(api, user, other_user):
    response = api.post(URL, {"to": [user.pk, other_user.pk], "title": "Hi"}, format="json")

    assert response.json() == {"sent": 1}
    assert not Notification.objects.filter(recipient=user).exists()


def test_notifying_everyone_is_for_administrators_only(api):
    response = api.post(URL, {"to": "all", "title": "Maintenance"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Notification.objects.exists()


def test_administrators_notify_every_active_user_but_themselves(admin_api, staff_user, user, other_user):
    make_user("ghost", is_active=False)

    response = admin_api.post(URL, {"to": "all", "title": "Maintenance at 6"}, format="json")

    assert response.status_code == 201
    assert response.json() == {"sent": 2}
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"alice", "bob"}


def test_unknown_recipients_are_400_with_their_ids_and_nothing_is_stored(api, other_user):
    ghost = make_user("ghost", is_active=False)

    response = api.post(URL, {"to": [other_user.pk, 999_999, ghost.pk], "title": "Hi"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_recipients"
    assert body["ids"] == sorted([ghost.pk, 999_999])
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({"title": "Hi"}, "to"),
        ({"to": None, "title": "Hi"}, "to"),
        ({"to": "someone", "title": "Hi"}, "code"),
        ({"to": "ALL", "title": "Hi"}, "code"),
        ({"to": [], "title": "Hi"}, "code"),
        ({"to": [True], "title": "Hi"}, "code"),
        ({"to": ["2"], "title": "Hi"}, "code"),
        ({"to": [1.5], "title": "Hi"}, "code"),
        ({"to": [0], "title": "Hi"}, "code"),
        ({"to": [-2], "title": "Hi"}, "code"),
        ({"to": [2**63], "title": "Hi"}, "code"),
        ({"to": {"id": 1}, "title": "Hi"}, "code"),
        ({"to": 2, "title": "Hi"}, "code"),
        ({"to": list(range(1, 102)), "title": "Hi"}, "code"),
        ({"to": "OTHER"}, "title"),
        ({"to": "OTHER", "title": ""}, "title"),
        ({"to": "OTHER", "title": "   "}, "title"),
        ({"to": "OTHER", "title": "x" * 201}, "title"),
        ({"to": "OTHER", "title": 12}, "title"),
        ({"to": "OTHER", "title": None}, "title"),
        ({"to": "OTHER", "title": ["Hi"]}, "title"),
        ({"to": "OTHER", "title": "Hi", "body": "x" * 2001}, "body"),
        ({"to": "OTHER", "title": "Hi", "body": 5}, "body"),
    ],
)
def test_bad_notifications_are_400_and_nothing_is_stored(api, other_user, payload, key):
    payload = {k: ([other_user.pk] if v == "OTHER" else v) for k, v in payload.items()}

    response = api.post(URL, payload, format="json")

    assert response.status_code == 400
    assert key in response.json()
    assert not Notification.objects.exists()


def test_bad_recipients_are_invalid_field(api):
    response = api.post(URL, {"to": "someone", "title": "Hi"}, format="json")

    assert response.json()["code"] == "invalid_field"


def test_sending_is_throttled_per_user(api, other_api, user, other_user, notification_rate):
    notification_rate("2/min")

    codes = [api.post(URL, {"to": [other_user.pk], "title": f"n{i}"}, format="json").status_code for i in range(3)]
    someone_else = other_api.post(URL, {"to": [user.pk], "title": "hi"}, format="json")

    assert codes == [201, 201, 429]
    assert api.post(URL, {"to": [other_user.pk], "title": "again"}, format="json").json()["code"] == "rate_limited"
    assert someone_else.status_code == 201
    assert Notification.objects.filter(recipient=other_user).count() == 2


def test_listing_and_marking_read_are_not_throttled(api, user, notification_rate):
    notification_rate("1/min")
    make_notification(user)

    codes = [api.get(URL).status_code for _ in range(3)] + [
        api.post(READ, {"all": True}, format="json").status_code for _ in range(3)
    ]

    assert codes == [200] * 6


def test_sending_needs_a_token(anon_client, other_user):
    assert anon_client.post(URL, {"to": [other_user.pk], "title": "Hi"}, format="json").status_code == 401
