"""The fast paths (payloads from column values, no model per row) against the model path they replace:
the same JSON, byte for byte, for every kind of message."""

import json

import pytest

from messaging import events, selectors
from messaging.models import Message, Room
from messaging.services import files_upload, message_delete, message_edit, message_pin, reaction_set
from messaging.tests.factories import general, make_room, png, send, text_file
from users.models import User
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def model_path(user: User, payloads: list[dict], room_slug: str) -> list[dict]:
    """What the history page returned before the fast path: MessageSerializer over model instances."""
    ids = [payload["id"] for payload in payloads]
    page = selectors.message_page(user=user, room_slug=room_slug, limit=100)
    messages = {message.pk: message for message in page.messages}
    out = []
    for message_id in ids:
        data = events.message_payload(messages[message_id], room_slug=room_slug)
        data["is_mine"] = messages[message_id].sender_id == user.pk
        out.append(data)
    return out


def dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


@pytest.fixture
def every_kind(user, other_user):
    """Attachments with and without thumbnails, reactions, a thread, pins, an edit, a deleted message
    (with a file), html, a message whose sender was deleted."""
    picture, notes = files_upload(uploader=user, uploads=[png("a.png"), text_file()])
    assert picture.thumbnail
    assert not notes.thumbnail
    root = send(user, "**bold** see https://example.com <b>x</b>", attachment_ids=[picture.pk, notes.pk])
    send(other_user, "a reply", reply_to_id=root.pk)
    send(user, "another reply", reply_to_id=root.pk, client_id="c-9")
    reaction_set(actor=other_user, message_id=root.pk, emoji="👍", added=True)
    reaction_set(actor=user, message_id=root.pk, emoji=":tada:", added=True)
    message_pin(actor=user, message_id=root.pk, pinned=True)
    edited = send(other_user, "tpyo")
    message_edit(actor=other_user, message_id=edited.pk, content="typo")
    (doomed_file,) = files_upload(uploader=user, uploads=[png("b.png")])
    doomed = send(user, "gone", attachment_ids=[doomed_file.pk])
    reaction_set(actor=user, message_id=doomed.pk, emoji="👍", added=True)
    message_delete(actor=user, message_id=doomed.pk)
    ghost = make_user("ghost")
    send(ghost, "from someone gone")
    ghost.delete()
    return root


def test_the_history_page_is_byte_identical_to_the_model_path(api, user, every_kind):
    body = api.get("/api/v1/messages/", {"limit": 100}).json()
    results = body["results"]

    assert dumps(results) == dumps(model_path(user, results, "general"))
    kinds = {
        "thumbnail": any(a["thumbnail_url"] for m in results for a in m["attachments"]),
        "no thumbnail": any(a["thumbnail_url"] is None for m in results for a in m["attachments"]),
        "reactions": any(m["reactions"] for m in results),
        "thread": any(m["reply_count"] for m in results) and any(m["thread_root"] for m in results),
        "pinned": any(m["pinned"] for m in results),
        "edited": any(m["edited_at"] for m in results),
        "deleted": any(m["deleted"] for m in results),
        "no sender": any(m["sender"] is None for m in results),
        "html": any("<strong>" in m["html"] for m in results),
        "mine and not": {m["is_mine"] for m in results} == {True, False},
    }
    assert all(kinds.values()), kinds
    deleted = next(m for m in results if m["deleted"])
    assert deleted["attachments"] == deleted["reactions"] == []
    assert deleted["content"] == deleted["html"] == ""


def test_the_fast_page_pages_like_the_model_page(user, every_kind):
    every_cursor: list[dict[str, int]] = [{}, {"before": 4}, {"before": 1}, {"after": 2}, {"after": 0}]
    for cursors in [*every_cursor, {"after": 1, "before": 5}]:
        for limit in (1, 2, 3, 50):
            # The cursors are ints; mypy takes any keyword of **dict[str, int] for room_slug too.
            fast = selectors.message_payload_page(user=user, limit=limit, **cursors)  # type: ignore[arg-type]
            # Same as above.
            slow = selectors.message_page(user=user, limit=limit, **cursors)  # type: ignore[arg-type]
            expected = [events.message_payload(message, room_slug="general") for message in slow.messages]
            assert dumps(fast.payloads) == dumps(expected), (cursors, limit)
            assert (fast.has_older, fast.has_newer) == (slow.has_older, slow.has_newer)


def test_the_fast_page_checks_access_like_the_model_page(user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))
    send(other_user, "secret", room=private)

    with pytest.raises(selectors.RoomNotFound):
        selectors.message_payload_page(user=user, room_slug=private.slug)
    assert [p["content"] for p in selectors.message_payload_page(user=other_user, room_slug=private.slug).payloads] == [
        "secret"
    ]


def test_message_payloads_names_each_rows_room(user):
    send(user, "in general")
    rows = list(Message.objects.filter(room=general()).values(*events.MESSAGE_COLUMNS, "room__slug"))

    assert [p["room"] for p in selectors.message_payloads(rows)] == ["general"]


def test_search_results_are_byte_identical_to_the_model_path(api, user, every_kind):
    results = (
        api.get("/api/v1/search/", {"q": "reply"}).json()["results"]
        + api.get("/api/v1/search/", {"q": "bold"}).json()["results"]
    )

    messages = [result["message"] for result in results]
    assert len(messages) == 3
    assert any(m["attachments"] and m["reactions"] and m["pinned"] for m in messages)
    assert dumps(messages) == dumps(model_path(user, messages, "general"))
