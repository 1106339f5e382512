"""PATCH /api/v1/rooms/{slug}/ with ``post_policy`` beside other settings: every part is checked before
anything is written, so a body with one refused part stores nothing (no setting, no audit entry, no
frame); a body that is all valid is written in one transaction, one audit entry per kind of change."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from messaging.models import Membership, Room
from messaging.services import room_update
from messaging.tests.factories import general, make_room
from users.models import AuditEntry

pytestmark = pytest.mark.django_db


def room_url(room: Room) -> str:
    return f"/api/v1/rooms/{room.slug}/"


def stored(room: Room) -> tuple[str, str, bool, str]:
    room.refresh_from_db()
    return (room.name, room.topic, room.archived, room.post_policy)


@pytest.fixture
def room(user):
    return make_room(members=(user,), name="Before", topic="Old topic")


def refused_and_unchanged(client, room: Room, body: dict, status: int) -> None:
    """PATCH ``body``: answered ``status``, and nothing of it stored nor audited."""
    before = stored(room)

    response = client.patch(room_url(room), body, format="json")

    assert response.status_code == status, response.json()
    assert stored(room) == before
    assert not AuditEntry.objects.exists()


def test_a_valid_policy_with_a_refused_archive_of_general_stores_neither(admin_api):
    refused_and_unchanged(admin_api, general(), {"post_policy": "moderators", "archived": True}, 400)


def test_a_valid_policy_with_a_bad_name_stores_neither(api, room):
    refused_and_unchanged(api, room, {"post_policy": "moderators", "name": "   "}, 400)


def test_a_room_moderator_setting_the_policy_and_renaming_stores_neither(other_api, room, other_user):
    Membership.objects.create(room=room, user=other_user, role=Membership.Role.MODERATOR)

    refused_and_unchanged(other_api, room, {"post_policy": "moderators", "name": "Mine"}, 403)


def test_a_workspace_moderator_setting_the_policy_and_the_name_stores_neither(room, other_user, other_api):
    other_user.role = "moderator"
    other_user.save()

    refused_and_unchanged(other_api, room, {"name": "Theirs", "post_policy": "moderators"}, 403)


def test_valid_settings_with_an_unknown_policy_store_nothing(room, user):
    before = stored(room)

    with pytest.raises(Exception, match="post_policy"):
        room_update(actor=user, room=room, changes={"topic": "New", "post_policy": "nobody"})

    assert stored(room) == before
    assert not AuditEntry.objects.exists()


def test_an_unknown_setting_beside_a_valid_policy_stores_nothing(room, user):
    with pytest.raises(Exception, match="colour"):
        room_update(actor=user, room=room, changes={"colour": "red", "post_policy": "moderators"})

    assert room.post_policy == "everyone"
    assert stored(room)[3] == "everyone"


def test_an_all_valid_body_is_written_with_one_audit_entry_per_kind_of_change(api, room, events):
    events.clear()

    response = api.patch(room_url(room), {"post_policy": "moderators", "name": "After", "topic": "New"}, format="json")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["post_policy"]) == ("After", "moderators")
    assert stored(room) == ("After", "New", False, "moderators")
    entries = sorted(AuditEntry.objects.values_list("action", "reason"))
    assert entries == [("room.post_policy", "moderators"), ("room.update", "name, topic")]
    updated = [json.loads(e["frame"]) for e in events if '"type":"room_updated"' in e.get("frame", "")]
    assert [frame["room"]["name"] for frame in updated] == ["After"]


def test_the_writes_share_one_transaction(room, user, monkeypatch):
    """A failure while writing the second part rolls back the first (nothing half stored)."""
    from messaging.services import room_manage

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(room_manage, "_settings_write", broken)
    with pytest.raises(RuntimeError), transaction.atomic():
        room_update(actor=user, room=room, changes={"post_policy": "moderators", "topic": "New"})

    assert stored(room) == ("Before", "Old topic", False, "everyone")
    assert not AuditEntry.objects.exists()


def test_the_policy_alone_still_answers_not_moderator_to_a_member(other_api, room, other_user):
    Membership.objects.create(room=room, user=other_user)

    response = other_api.patch(room_url(room), {"post_policy": "moderators"}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "not_moderator")
