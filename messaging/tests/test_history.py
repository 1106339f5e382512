import pytest

from messaging import events, selectors
from messaging.models import Room
from messaging.selectors import RoomNotFound
from messaging.services import files_upload
from messaging.tests.factories import general, make_room, png, send

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"


def test_default_is_the_ten_newest_of_general_oldest_first_with_is_mine(api, user, other_user):
    for i in range(12):
        send(user if i % 2 else other_user, f"m{i}")

    body = api.get(URL).json()

    results = body["results"]
    assert [m["content"] for m in results] == [f"m{i}" for i in range(2, 12)]
    assert [m["is_mine"] for m in results] == [bool(i % 2) for i in range(2, 12)]
    assert results[0]["sender"] == {
        "id": other_user.pk, "username": "bob", "display_name": "Bob", "role": "member", "is_bot": False, "owner": None
    }  # fmt: skip
    assert results[0]["room"] == "general"
    assert body["next"] is None
    assert "before=3" in body["previous"]


def test_before_and_after_page_by_seq(api, user):
    for i in range(30):
        send(user, f"m{i}")

    older = api.get(URL, {"before": 11, "limit": 5}).json()
    newer = api.get(URL, {"after": 25, "limit": 3}).json()
    between = api.get(URL, {"after": 5, "before": 9}).json()

    assert [m["seq"] for m in older["results"]] == [6, 7, 8, 9, 10]
    assert "before=6" in older["previous"]
    assert "after=10" in older["next"]
    assert [m["seq"] for m in newer["results"]] == [26, 27, 28]
    assert "after=28" in newer["next"]
    assert [m["seq"] for m in between["results"]] == [6, 7, 8]


def test_following_previous_links_walks_the_whole_history(api, user):
    for i in range(23):
        send(user, f"m{i}")

    seen: list[int] = []
    url = URL + "?limit=7"
    while url:
        body = api.get(url).json()
        seen = [m["seq"] for m in body["results"]] + seen
        url = body["previous"]

    assert seen == list(range(1, 24))


def test_limit_is_capped_at_100(api, user):
    for i in range(105):
        send(user, f"m{i}")

    assert len(api.get(URL, {"limit": 1000}).json()["results"]) == 100


@pytest.mark.parametrize(
    "params",
    [
        {"before": "abc"},
        {"before": -1},
        {"before": 0},
        {"after": "1.5"},
        {"after": -3},
        {"limit": 0},
        {"limit": "x"},
        {"room": "bad slug!"},
    ],
)
def test_malformed_cursors_are_400(api, user, params):
    response = api.get(URL, params)

    assert response.status_code == 400
    assert set(response.json()) <= {"before", "after", "limit", "room"}


def test_a_private_room_is_404_like_a_missing_one(api, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))

    hidden = api.get(URL, {"room": private.slug})
    missing = api.get(URL, {"room": "no-such-room"})

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "No such room.", "code": "not_found"}


def test_members_read_private_rooms(client_for, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))
    send(other_user, "secret", room=private)

    body = client_for(other_user).get(URL, {"room": private.slug}).json()

    assert [m["content"] for m in body["results"]] == ["secret"]


def test_history_needs_a_token(anon_client):
    assert anon_client.get(URL).status_code == 401


def test_deleted_messages_keep_their_place_without_content(api, user):
    from messaging.services import message_delete

    kept = send(user, "keep")
    gone = send(user, "secret words")
    message_delete(actor=user, message_id=gone.pk)

    results = api.get(URL).json()["results"]

    assert [(m["seq"], m["content"], m["deleted"]) for m in results] == [
        (kept.seq, "keep", False),
        (gone.seq, "", True),
    ]


def test_a_history_page_costs_the_same_queries_for_5_or_60_messages(user, other_user, django_assert_max_num_queries):
    for i in range(60):
        sender = other_user if i % 3 else user
        files = [files_upload(uploader=sender, uploads=[png()])[0].pk] if i % 4 == 0 else []
        send(sender, f"m{i}", attachment_ids=files)
    upload = files_upload(uploader=user, uploads=[png()])[0]
    send(user, "with a file", attachment_ids=[upload.pk])

    for limit in (5, 60):
        with django_assert_max_num_queries(3):
            page = selectors.message_page(user=user, limit=limit)
            payloads = [events.message_payload(message) for message in page.messages]
        assert len(payloads) == limit
        assert payloads[-1]["attachments"] == [events.attachment_payload(upload)]
        assert sum(1 for payload in payloads if payload["attachments"]) == (2 if limit == 5 else 15)


def test_a_replay_after_a_seq_carries_the_attachments(user):
    first = send(user, "before")
    upload = files_upload(uploader=user, uploads=[png()])[0]
    send(user, "with a file", attachment_ids=[upload.pk])
    send(user, "after")

    replayed = selectors.messages_after(room=general(), after=first.seq, limit=10)

    payloads = [events.message_payload(message) for message in replayed]
    assert [p["content"] for p in payloads] == ["with a file", "after"]
    assert payloads[0]["attachments"] == [events.attachment_payload(upload)]
    assert payloads[1]["attachments"] == []


def test_the_rest_history_page_has_a_fixed_query_count(api, user, other_user, django_assert_num_queries):
    for i in range(40):
        send(other_user if i % 2 else user, f"m{i}")
    api.get(URL, {"limit": 5})  # warm the token path (last_login etc.)

    # auth user lookup + room + messages + attachments
    with django_assert_num_queries(4):
        api.get(URL, {"limit": 5})
    with django_assert_num_queries(4):
        api.get(URL, {"limit": 40})


def test_messages_after_replays_in_order(user):
    for i in range(5):
        send(user, f"m{i}")

    replay = selectors.messages_after(room=general(), after=2, limit=10)

    assert [m.seq for m in replay] == [3, 4, 5]


def test_room_get_for_user_checks_access(user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))

    with pytest.raises(RoomNotFound):
        selectors.room_get_for_user(user=user, slug=private.slug)
    assert selectors.room_get_for_user(user=other_user, slug=private.slug) == private
