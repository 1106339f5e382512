"""Threads: roots, counters under concurrency, the thread listing, following, thread_reply notifications,
thread_updated frames, and that nobody learns about a room they may not read."""

import json
import threading

import pytest
from django.db import connection, connections

from messaging.models import Message, Notification, Room, ThreadFollow
from messaging.services import message_delete, messages_purge, room_join
from messaging.services.errors import InvalidReplyTo
from messaging.tests.factories import general, make_room, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"


def thread_url(message_id: int, query: str = "") -> str:
    return f"{URL}{message_id}/thread/{query}"


def test_a_reply_to_a_reply_joins_the_roots_thread(user, other_user):
    root = send(user, "lunch?")
    first = send(other_user, "yes", reply_to_id=root.pk)
    second = send(user, "where?", reply_to_id=first.pk)

    root.refresh_from_db()
    assert (first.thread_root_id, second.thread_root_id) == (root.pk, root.pk)
    assert second.reply_to_id == first.pk
    assert root.thread_root_id is None
    assert root.reply_count == 2
    assert root.last_reply_at == second.created_at
    assert root.thread_participants == [other_user.pk, user.pk]


def test_participants_are_bounded(user, settings):
    root = send(user, "poll")
    for i in range(23):
        send(make_user(f"voter{i}"), "+1", reply_to_id=root.pk)

    root.refresh_from_db()
    assert root.reply_count == 23
    assert len(root.thread_participants) == 20


@pytest.mark.parametrize("where", ["other public room", "private room", "missing", "zero"])
def test_reply_to_outside_the_room_is_refused_and_nothing_is_stored(user, other_user, where):
    elsewhere = {
        "other public room": lambda: send(user, "there", room=make_room()).pk,
        "private room": lambda: (
            send(other_user, "secret", room=make_room(kind=Room.Kind.PRIVATE, members=(other_user,))).pk
        ),
        "missing": lambda: 999999,
        "zero": lambda: 0,
    }[where]()
    before = Message.objects.count()

    with pytest.raises(InvalidReplyTo):
        send(user, "reply", reply_to_id=elsewhere)

    assert Message.objects.count() == before
    assert general().last_seq == 0


def test_rest_refuses_a_reply_to_an_unreadable_message_like_a_missing_one(api, other_user):
    secret = send(other_user, "secret", room=make_room(kind=Room.Kind.PRIVATE, members=(other_user,)))

    hidden = api.post(URL, {"content": "hi", "reply_to": secret.pk}, format="json")
    missing = api.post(URL, {"content": "hi", "reply_to": 999999}, format="json")

    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == missing.json()
    assert hidden.json()["code"] == "invalid_field"
    assert Message.objects.filter(room=general()).count() == 0


def test_a_deleted_reply_is_no_longer_counted(user, other_user):
    root = send(user, "root")
    first = send(other_user, "one", reply_to_id=root.pk)
    second = send(user, "two", reply_to_id=root.pk)

    message_delete(actor=user, message_id=second.pk)
    root.refresh_from_db()
    assert (root.reply_count, root.last_reply_at, root.thread_participants) == (1, first.created_at, [other_user.pk])

    message_delete(actor=other_user, message_id=first.pk)
    root.refresh_from_db()
    assert (root.reply_count, root.last_reply_at, root.thread_participants) == (0, None, [])


def test_deleting_the_root_keeps_its_thread(api, user, other_user):
    root = send(user, "root")
    reply = send(other_user, "reply", reply_to_id=root.pk)
    message_delete(actor=user, message_id=root.pk)

    body = api.get(thread_url(reply.pk)).json()

    assert body["root"]["deleted"] is True
    assert body["root"]["reply_count"] == 1
    assert [r["id"] for r in body["replies"]] == [reply.pk]


def test_a_purge_of_replies_recounts_their_roots(user, other_user, staff_user):
    root = send(user, "root")
    keep = send(other_user, "keep", reply_to_id=root.pk)
    gone = send(user, "gone", reply_to_id=root.pk)

    messages_purge(actor=staff_user, ids=[gone.pk])

    root.refresh_from_db()
    assert (root.reply_count, root.last_reply_at, root.thread_participants) == (1, keep.created_at, [other_user.pk])


def test_a_purged_root_leaves_its_replies_without_a_thread(user, other_user, staff_user):
    root = send(user, "root")
    reply = send(other_user, "reply", reply_to_id=root.pk)

    messages_purge(actor=staff_user, ids=[root.pk])

    reply.refresh_from_db()
    assert reply.thread_root_id is None


def test_payloads_carry_the_thread_fields_everywhere(api, user, other_user):
    root = send(user, "root")
    posted = api.post(URL, {"content": "reply", "reply_to": root.pk}, format="json").json()
    history = api.get(URL).json()["results"]
    one = api.get(f"{URL}{root.pk}/").json()

    assert posted["thread_root"] == root.pk
    assert (posted["reply_count"], posted["last_reply_at"], posted["thread_participants"]) == (0, None, [])
    assert history[0]["id"] == root.pk
    assert history[0]["reply_count"] == one["reply_count"] == 1
    assert history[0]["last_reply_at"] == one["last_reply_at"] == posted["created_at"]
    assert history[0]["thread_participants"] == [user.pk]
    assert history[0]["thread_root"] is None


# --- GET /messages/{id}/thread/ ---------------------------------------------------------------------------


def test_the_thread_lists_live_replies_oldest_first_by_pages(api, user, other_user):
    root = send(user, "root")
    replies = [send(other_user, f"r{i}", reply_to_id=root.pk) for i in range(5)]
    send(user, "not in the thread")
    message_delete(actor=other_user, message_id=replies[2].pk)

    first = api.get(thread_url(root.pk, "?limit=2")).json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json() if second["next"] else None

    assert first["root"]["id"] == root.pk
    assert first["root"]["reply_count"] == 4
    assert [r["id"] for r in first["replies"]] == [replies[0].pk, replies[1].pk]
    assert "after=" in first["next"]
    assert "limit=2" in first["next"]
    assert [r["id"] for r in second["replies"]] == [replies[3].pk, replies[4].pk]
    assert second["next"] is None
    assert third is None
    assert first["replies"][0]["is_mine"] is False


def test_the_thread_of_a_reply_is_its_roots(api, user, other_user):
    root = send(user, "root")
    reply = send(other_user, "reply", reply_to_id=root.pk)

    assert api.get(thread_url(reply.pk)).json()["root"]["id"] == root.pk


def test_a_message_without_replies_is_a_thread_of_its_own(api, user):
    root = send(user, "alone")

    assert api.get(thread_url(root.pk)).json() == {
        "root": api.get(f"{URL}{root.pk}/").json(),
        "replies": [],
        "next": None,
    }


def test_threads_of_unreadable_rooms_are_404_like_missing_ones(api, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))
    root = send(other_user, "secret", room=private)
    send(other_user, "reply", room=private, reply_to_id=root.pk)

    hidden = api.get(thread_url(root.pk))
    missing = api.get(thread_url(999999))

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


@pytest.mark.parametrize("query", ["?limit=0", "?limit=x", "?after=-1", "?after=x"])
def test_bad_thread_queries_are_400(api, user, query):
    root = send(user, "root")

    response = api.get(thread_url(root.pk, query))

    assert response.status_code == 400


def test_the_page_size_is_bounded(api, user):
    root = send(user, "root")
    for i in range(3):
        send(user, f"r{i}", reply_to_id=root.pk)

    body = api.get(thread_url(root.pk, "?limit=100000")).json()

    assert len(body["replies"]) == 3


def test_the_thread_needs_a_signed_in_caller(anon_client, user):
    root = send(user, "root")

    assert anon_client.get(thread_url(root.pk)).status_code == 401


# --- following and thread_reply notifications -------------------------------------------------------------


def thread_replies(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=Notification.Kind.THREAD_REPLY))


def test_who_wrote_in_a_thread_is_notified_of_replies_but_not_of_their_own(user, other_user):
    carol = make_user("carol")
    root = send(user, "root")
    send(other_user, "first", reply_to_id=root.pk)  # alice (the root's author) is told
    reply = send(carol, "second", reply_to_id=root.pk)  # alice again (another sender) and bob

    alice_told = thread_replies(user)
    assert len(alice_told) == 2
    assert [n.data for n in thread_replies(other_user)] == [
        {"room": "general", "message_id": reply.pk, "seq": reply.seq, "thread_root": root.pk}
    ]
    assert thread_replies(carol) == []
    assert "replied in a thread in #general" in thread_replies(other_user)[0].title


def test_thread_notifications_coalesce_like_mentions(user, other_user):
    root = send(user, "root")
    for i in range(5):
        send(other_user, f"r{i}", reply_to_id=root.pk)

    assert len(thread_replies(user)) == 1


def test_followers_are_notified_and_unfollowers_are_not(api, user, other_user, client_for):
    carol = make_user("carol")
    root = send(other_user, "root")

    followed = client_for(carol).put(f"{URL}{root.pk}/follow/")
    unfollowed = client_for(other_user).delete(f"{URL}{root.pk}/follow/")
    send(user, "reply", reply_to_id=root.pk)

    assert followed.json() == {"thread_root": root.pk, "following": True}
    assert unfollowed.json() == {"thread_root": root.pk, "following": False}
    assert len(thread_replies(carol)) == 1
    assert thread_replies(other_user) == []  # the root's author unfollowed: writing does not undo it
    assert ThreadFollow.objects.get(root=root, user=other_user).following is False


def test_following_a_reply_follows_its_thread(api, user, other_user):
    root = send(other_user, "root")
    reply = send(other_user, "reply", reply_to_id=root.pk)

    assert api.put(f"{URL}{reply.pk}/follow/").json() == {"thread_root": root.pk, "following": True}


def test_following_an_unreadable_thread_is_404_and_stores_nothing(api, other_user):
    root = send(other_user, "secret", room=make_room(kind=Room.Kind.PRIVATE, members=(other_user,)))

    hidden = api.put(f"{URL}{root.pk}/follow/")
    missing = api.put(f"{URL}999999/follow/")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert not ThreadFollow.objects.filter(user=api.user).exists()


def test_following_is_budgeted(api, user, settings):
    settings.CHAT_MESSAGE_RATE = "2/100s"
    root = send(user, "root")
    answers = [api.put(f"{URL}{root.pk}/follow/").status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_followers_who_may_no_longer_read_the_room_are_not_told(user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    root = send(other_user, "root", room=private)
    private.memberships.filter(user=other_user).delete()

    send(user, "reply", room=private, reply_to_id=root.pk)

    assert thread_replies(other_user) == []


def test_a_mention_in_a_reply_is_a_mention_not_a_thread_reply(user, other_user):
    root = send(other_user, "root")

    send(user, "@bob look", reply_to_id=root.pk)

    assert list(Notification.objects.filter(recipient=other_user).values_list("kind", flat=True)) == ["mention"]


def test_the_preference_turns_thread_notifications_off(user, other_user):
    other_user.preferences = {"notifications": {"thread_replies": False}}
    other_user.save()
    root = send(other_user, "root")

    send(user, "reply", reply_to_id=root.pk)

    assert thread_replies(other_user) == []


def test_a_spent_budget_drops_thread_notifications_but_stores_the_reply(user, other_user, settings):
    settings.CHAT_NOTIFICATION_RATE = "1/100s"
    settings.CHAT_NOTIFICATION_COALESCE_WINDOW = 0
    root = send(other_user, "root")

    first = send(user, "one", reply_to_id=root.pk)
    second = send(user, "two", reply_to_id=root.pk)

    assert [n.data["message_id"] for n in thread_replies(other_user)] == [first.pk]
    root.refresh_from_db()
    assert root.reply_count == 2
    assert second.pk


# --- frames -------------------------------------------------------------------------------------------------


def room_frames(events, room) -> list[dict]:
    return [json.loads(e["frame"]) for e in events if e["group"] == f"chat.room.{room.pk}"]


def test_a_reply_is_broadcast_with_its_roots_new_counters(user, other_user, events):
    root = send(user, "root")
    reply = send(other_user, "reply", reply_to_id=root.pk)
    message_delete(actor=other_user, message_id=reply.pk)

    frames = room_frames(events, general())
    assert [f["type"] for f in frames] == ["message", "message", "thread_updated", "message_deleted", "thread_updated"]
    assert frames[1]["message"]["thread_root"] == root.pk
    assert frames[2] == {
        "type": "thread_updated",
        "room": "general",
        "message_id": root.pk,
        "reply_count": 1,
        "last_reply_at": frames[1]["message"]["created_at"],
        "thread_participants": [other_user.pk],
    }
    assert frames[4]["reply_count"] == 0
    assert frames[4]["last_reply_at"] is None


def test_a_refused_reply_publishes_nothing(user, events):
    elsewhere = send(user, "there", room=make_room())
    events.clear()

    with pytest.raises(InvalidReplyTo):
        send(user, "reply", reply_to_id=elsewhere.pk)

    assert events == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need a server database")
def test_concurrent_replies_and_deletions_keep_exact_counters(transactional_db):
    room_owner = make_user("owner")
    root = send(room_owner, "root")
    repliers = [make_user(f"replier{i}") for i in range(6)]
    errors: list[Exception] = []
    doomed: list[int] = []

    def burst(replier):
        try:
            for i in range(8):
                reply = send(replier, f"{replier.username} {i}", reply_to_id=root.pk)
                if i % 4 == 0:
                    doomed.append(reply.pk)
                    message_delete(actor=replier, message_id=reply.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=burst, args=(r,)) for r in repliers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    root.refresh_from_db()
    live = Message.objects.filter(thread_root=root, is_deleted=False)
    assert root.reply_count == live.count() == 6 * 8 - len(doomed)
    assert sorted(root.thread_participants) == sorted(r.pk for r in repliers)


def test_members_of_a_public_room_are_told_like_anyone_who_may_read_it(user, other_user):
    room_join(actor=other_user, room=general())
    root = send(other_user, "root")

    send(user, "reply", reply_to_id=root.pk)

    assert len(thread_replies(other_user)) == 1


# --- admin ---------------------------------------------------------------------------------------------------


def test_the_admin_shows_a_roots_counters_read_only_and_who_follows(client, staff_user, user, other_user):
    client.force_login(staff_user)
    root = send(user, "root")
    send(other_user, "reply", reply_to_id=root.pk)

    page = client.get(f"/admin/messaging/message/{root.pk}/change/")
    follows = client.get("/admin/messaging/threadfollow/")

    assert page.status_code == 200
    assert b"Reply count" in page.content
    assert b'name="reply_count"' not in page.content  # shown, not editable
    assert follows.status_code == 200
    assert b"alice" in follows.content
    assert b"bob" in follows.content
