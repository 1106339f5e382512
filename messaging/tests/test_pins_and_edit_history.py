"""Pins (writers pin, readers list, frames to the room, deletion unpins) and edit history (every edit
keeps the earlier text, readable by those who may read the message)."""

from __future__ import annotations

import json

import pytest

from messaging import limits
from messaging.models import Message, MessageVersion, Room
from messaging.selectors import MessageNotFound
from messaging.services import message_delete, message_edit, message_pin
from messaging.tests.factories import make_room, send

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "No such message.", "code": "not_found"}


def frames(events, kind: str) -> list[dict]:
    return [json.loads(e["frame"]) for e in events if "frame" in e and f'"type":"{kind}"' in e["frame"]]


# --- pins ----------------------------------------------------------------------------------------------


def test_a_writer_pins_and_unpins_idempotently_and_readers_list_the_pins(api, other_api, user):
    first, second = send(user, "first"), send(user, "second")

    pinned = other_api.put(f"/api/v1/messages/{first.pk}/pin/")
    again = other_api.put(f"/api/v1/messages/{first.pk}/pin/")
    api.put(f"/api/v1/messages/{second.pk}/pin/")
    pins = api.get("/api/v1/rooms/general/pins/")

    assert pinned.status_code == again.status_code == 200
    assert pinned.json()["pinned"] is True
    assert [m["id"] for m in pins.json()] == [second.pk, first.pk]  # the most recently pinned first
    assert all(m["pinned"] for m in pins.json())

    unpinned = other_api.delete(f"/api/v1/messages/{first.pk}/pin/")
    assert unpinned.status_code == 200
    assert unpinned.json()["pinned"] is False
    assert other_api.delete(f"/api/v1/messages/{first.pk}/pin/").status_code == 200
    assert [m["id"] for m in api.get("/api/v1/rooms/general/pins/").json()] == [second.pk]


def test_pin_changes_are_broadcast_once_and_deleting_a_pinned_message_unpins_it(events, api, user):
    message = send(user, "pin me")
    events.clear()

    message_pin(actor=user, message_id=message.pk, pinned=True)
    message_pin(actor=user, message_id=message.pk, pinned=True)
    message_delete(actor=user, message_id=message.pk)

    common = {
        "room": "general",
        "message_id": message.pk,
        "seq": message.seq,
        "user": {"id": user.pk, "username": "alice"},
    }
    assert frames(events, "message_pinned") == [{"type": "message_pinned", **common}]
    assert frames(events, "message_unpinned") == [{"type": "message_unpinned", **common}]
    assert Message.objects.get(pk=message.pk).pinned_at is None
    assert api.get("/api/v1/rooms/general/pins/").json() == []
    assert api.put(f"/api/v1/messages/{message.pk}/pin/").status_code == 404


def test_a_room_takes_a_bounded_number_of_pins(api, user, settings):
    settings.CHAT_MESSAGE_RATE = "1000/10s"
    messages = [send(user, f"m{i}") for i in range(limits.PINS_PER_ROOM + 1)]
    Message.objects.filter(pk__in=[m.pk for m in messages[:-1]]).update(pinned_at="2025-01-01T00:00:00Z")

    refused = api.put(f"/api/v1/messages/{messages[-1].pk}/pin/")

    assert refused.status_code == 400
    assert refused.json()["code"] == "too_many_pins"
    assert Message.objects.filter(pinned_at__isnull=False).count() == limits.PINS_PER_ROOM
    assert len(api.get("/api/v1/rooms/general/pins/").json()) == limits.PINS_PER_ROOM


def test_non_members_of_a_private_room_get_404_for_pins_like_a_missing_room(api, other_api, user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,), slug="secret")
    message = send(user, "secret", room=private)
    api.put(f"/api/v1/messages/{message.pk}/pin/")

    for response in (
        other_api.put(f"/api/v1/messages/{message.pk}/pin/"),
        other_api.delete(f"/api/v1/messages/{message.pk}/pin/"),
        other_api.put("/api/v1/messages/999999/pin/"),
    ):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    hidden, missing = other_api.get("/api/v1/rooms/secret/pins/"), other_api.get("/api/v1/rooms/nowhere/pins/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert Message.objects.get(pk=message.pk).pinned_at is not None


def test_a_deactivated_member_cannot_pin(user):
    message = send(user, "hi")
    user.is_active = False
    user.save()

    with pytest.raises(MessageNotFound):
        message_pin(actor=user, message_id=message.pk, pinned=True)


# --- edit history ---------------------------------------------------------------------------------------


def test_every_edit_keeps_the_earlier_text_oldest_first(api, user):
    message = send(user, "*one*")
    api.patch(f"/api/v1/messages/{message.pk}/", {"content": "two"}, format="json")
    api.patch(f"/api/v1/messages/{message.pk}/", {"content": "three"}, format="json")
    first_edit = MessageVersion.objects.order_by("id").last()

    history = api.get(f"/api/v1/messages/{message.pk}/history/")

    assert history.status_code == 200
    assert history.json() == [
        {"content": "*one*", "html": "<p><em>one</em></p>", "edited_at": None},
        {"content": "two", "html": "<p>two</p>", "edited_at": history.json()[1]["edited_at"]},
    ]
    assert history.json()[1]["edited_at"] is not None
    assert first_edit is not None
    assert first_edit.edited_at is not None
    assert api.get(f"/api/v1/messages/{message.pk}/").json()["content"] == "three"


def test_an_edit_that_changes_nothing_keeps_no_version(user):
    message = send(user, "same")

    message_edit(actor=user, message_id=message.pk, content="same")

    assert MessageVersion.objects.count() == 0


def test_an_unedited_message_has_an_empty_history_and_a_deleted_one_none(api, user):
    message = send(user, "hi")
    assert api.get(f"/api/v1/messages/{message.pk}/history/").json() == []
    message_edit(actor=user, message_id=message.pk, content="secret draft")

    message_delete(actor=user, message_id=message.pk)

    assert MessageVersion.objects.count() == 0  # the earlier text goes with the message
    response = api.get(f"/api/v1/messages/{message.pk}/history/")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_whoever_may_read_the_message_reads_its_history_and_nobody_else(api, other_api, user, other_user):
    public = send(user, "hi")
    message_edit(actor=user, message_id=public.pk, content="hello")
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    secret = send(user, "secret", room=private)
    message_edit(actor=user, message_id=secret.pk, content="secret!")

    assert other_api.get(f"/api/v1/messages/{public.pk}/history/").json()[0]["content"] == "hi"
    hidden = other_api.get(f"/api/v1/messages/{secret.pk}/history/")
    missing = other_api.get("/api/v1/messages/999999/history/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == NOT_FOUND


def test_history_lists_the_newest_versions_only(api, user, monkeypatch):
    monkeypatch.setattr(limits, "EDIT_VERSIONS", 2)
    message = send(user, "v0")
    for index in range(1, 4):
        message_edit(actor=user, message_id=message.pk, content=f"v{index}")

    history = api.get(f"/api/v1/messages/{message.pk}/history/").json()

    assert [v["content"] for v in history] == ["v1", "v2"]
