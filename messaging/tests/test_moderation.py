"""Moderation over REST: who moderates, bans, mutes, the post policy, deleting and removing, reports and
the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.models import Membership, Message, MessageReport, Notification, Room, RoomSanction
from messaging.services import room_add_member, room_join
from messaging.services.moderation import room_ban, room_mute
from messaging.tests.factories import general, make_room, send
from realtime.kernel import closecodes
from users.models import AuditEntry, User
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def soon() -> str:
    return (timezone.now() + timedelta(hours=1)).isoformat()


@pytest.fixture
def room(user, other_user):
    """A public room owned by ``user`` (so user moderates it), with other_user as a plain member."""
    return make_room(kind=Room.Kind.PUBLIC, members=(user, other_user))


@pytest.fixture
def third():
    return make_user("carol")


# Who moderates


def test_a_member_cannot_moderate(room, user, other_user, third):
    client = client_of(other_user)
    room_join(actor=third, room=room)
    message = send(user, "owner's words", room=room)

    assert client.post(f"/api/v1/rooms/{room.slug}/bans/", {"user": third.pk}, format="json").status_code == 403
    body = {"user": third.pk, "until": soon()}
    assert client.post(f"/api/v1/rooms/{room.slug}/mutes/", body, format="json").status_code == 403
    patch = client.patch(f"/api/v1/rooms/{room.slug}/", {"post_policy": "moderators"}, format="json")
    assert patch.status_code == 403
    assert patch.json()["code"] == "not_moderator"
    assert client.delete(f"/api/v1/messages/{message.pk}/").status_code == 403
    assert client.delete(f"/api/v1/rooms/{room.slug}/members/{third.pk}/").status_code == 403
    assert client.get(f"/api/v1/rooms/{room.slug}/bans/").status_code == 403
    assert not RoomSanction.objects.exists()
    assert not AuditEntry.objects.exists()


def test_moderators_of_a_room_and_of_the_workspace_delete_any_message(room, user, other_user, third):
    first, second = send(other_user, "spam", room=room), send(other_user, "more spam", room=room)
    third.role = "moderator"
    third.save()

    assert client_of(user).delete(f"/api/v1/messages/{first.pk}/").status_code == 204
    assert client_of(third).delete(f"/api/v1/messages/{second.pk}/").status_code == 204
    assert Message.objects.filter(is_deleted=True).count() == 2
    actions = list(AuditEntry.objects.values_list("action", "actor_username", "room_slug"))
    assert sorted(actions) == sorted([("message.delete", "alice", room.slug), ("message.delete", "carol", room.slug)])


def test_a_room_moderator_removes_a_member_and_it_is_audited(room, user, other_user):
    assert client_of(user).delete(f"/api/v1/rooms/{room.slug}/members/{other_user.pk}/").status_code == 204
    assert not Membership.objects.filter(room=room, user=other_user).exists()
    assert AuditEntry.objects.get().action == "room.remove_member"


# Bans


def test_a_ban_removes_the_membership_and_refuses_reading_and_rejoining(room, user, other_user):
    response = client_of(user).post(
        f"/api/v1/rooms/{room.slug}/bans/", {"user": other_user.pk, "reason": "spam"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["user"]["id"] == other_user.pk
    assert response.json()["until"] is None
    assert not Membership.objects.filter(room=room, user=other_user).exists()
    banned = client_of(other_user)
    assert banned.get(f"/api/v1/rooms/{room.slug}/").status_code == 404
    assert banned.get(f"/api/v1/messages/?room={room.slug}").status_code == 404
    assert banned.post(f"/api/v1/rooms/{room.slug}/members/", {}, format="json").status_code == 404
    assert room.slug not in {r["slug"] for r in banned.get("/api/v1/rooms/").json()["results"]}
    readd = client_of(user).post(f"/api/v1/rooms/{room.slug}/members/", {"user": other_user.pk}, format="json")
    assert readd.status_code == 400
    assert readd.json()["code"] == "banned"
    entry = AuditEntry.objects.get(action="room.ban")
    assert (entry.target_id, entry.reason, entry.room_slug, entry.via) == (other_user.pk, "spam", room.slug, "rest")


def test_unbanning_lets_them_back(room, user, other_user):
    room_ban(actor=user, room=room, user_id=other_user.pk)

    assert client_of(user).delete(f"/api/v1/rooms/{room.slug}/bans/{other_user.pk}/").status_code == 204
    assert client_of(other_user).post(f"/api/v1/rooms/{room.slug}/members/", {}, format="json").status_code == 201
    assert client_of(user).delete(f"/api/v1/rooms/{room.slug}/bans/{other_user.pk}/").status_code == 404


def test_a_ban_that_has_run_out_no_longer_applies(room, user, other_user):
    room_ban(actor=user, room=room, user_id=other_user.pk, until=timezone.now() + timedelta(minutes=1))
    RoomSanction.objects.update(until=timezone.now() - timedelta(seconds=1))

    assert client_of(other_user).get(f"/api/v1/rooms/{room.slug}/").status_code == 200


def test_a_ban_closes_the_persons_sockets_for_that_room(events, user, other_user):
    room = make_room(kind=Room.Kind.PUBLIC, members=(user, other_user))

    room_ban(actor=user, room=room, user_id=other_user.pk)

    closes = [e for e in events if e["event"] == "close_user"]
    assert closes == [
        {"event": "close_user", "group": closes[0]["group"], "user": other_user.pk, "close": 4403, "room": room.pk}
    ]
    assert closecodes.USER_GONE == 4403


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user": "x"},
        {"user": 999999},
        {"user": 0},
        {"user": 2, "until": "2001-01-01T00:00:00Z"},
        {"user": 2, "reason": "x" * 501},
    ],
)
def test_bad_ban_requests_are_400(room, user, other_user, body):
    if body.get("user") == 2:
        body = {**body, "user": other_user.pk}

    assert client_of(user).post(f"/api/v1/rooms/{room.slug}/bans/", body, format="json").status_code == 400
    assert not RoomSanction.objects.exists()


def test_nobody_bans_themself_or_a_workspace_moderator(room, user, other_user, staff_user):
    client = client_of(user)

    assert client.post(f"/api/v1/rooms/{room.slug}/bans/", {"user": user.pk}, format="json").status_code == 403
    assert client.post(f"/api/v1/rooms/{room.slug}/bans/", {"user": staff_user.pk}, format="json").status_code == 403


def test_an_outsider_cannot_learn_of_a_private_rooms_bans(user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    response = client_of(other_user).post(f"/api/v1/rooms/{private.slug}/bans/", {"user": user.pk}, format="json")

    assert response.status_code == 404


def test_no_bans_in_direct_rooms(api, user, other_user):
    dm = api.post("/api/v1/rooms/direct/", {"user": other_user.pk}, format="json").json()["slug"]

    assert api.post(f"/api/v1/rooms/{dm}/bans/", {"user": other_user.pk}, format="json").status_code == 400


def test_the_ban_list(room, user, other_user):
    room_ban(actor=user, room=room, user_id=other_user.pk, reason="spam")

    body = client_of(user).get(f"/api/v1/rooms/{room.slug}/bans/").json()

    assert [(b["user"]["id"], b["reason"]) for b in body["results"]] == [(other_user.pk, "spam")]


# Mutes


def test_a_muted_user_reads_but_cannot_send_or_edit(room, user, other_user):
    mine = send(other_user, "before", room=room)
    response = client_of(user).post(
        f"/api/v1/rooms/{room.slug}/mutes/", {"user": other_user.pk, "until": soon()}, format="json"
    )
    assert response.status_code == 201
    muted = client_of(other_user)

    sent = muted.post("/api/v1/messages/", {"content": "hi", "room": room.slug}, format="json")
    assert sent.status_code == 403
    assert sent.json()["code"] == "muted"
    edited = muted.patch(f"/api/v1/messages/{mine.pk}/", {"content": "after"}, format="json")
    assert edited.status_code == 403
    assert edited.json()["code"] == "muted"
    assert muted.get(f"/api/v1/messages/?room={room.slug}").status_code == 200
    # Elsewhere they still write.
    general()
    assert muted.post("/api/v1/messages/", {"content": "hi", "room": "general"}, format="json").status_code == 201

    assert client_of(user).delete(f"/api/v1/rooms/{room.slug}/mutes/{other_user.pk}/").status_code == 204
    assert muted.post("/api/v1/messages/", {"content": "hi", "room": room.slug}, format="json").status_code == 201


def test_a_mute_needs_a_future_until(room, user, other_user):
    client = client_of(user)

    assert client.post(f"/api/v1/rooms/{room.slug}/mutes/", {"user": other_user.pk}, format="json").status_code == 400
    past = {"user": other_user.pk, "until": "2001-01-01T00:00:00Z"}
    assert client.post(f"/api/v1/rooms/{room.slug}/mutes/", past, format="json").status_code == 400


def test_a_mute_ends_by_itself(room, user, other_user):
    room_mute(actor=user, room=room, user_id=other_user.pk, until=timezone.now() + timedelta(minutes=1))
    RoomSanction.objects.update(until=timezone.now() - timedelta(seconds=1))

    sent = client_of(other_user).post("/api/v1/messages/", {"content": "hi", "room": room.slug}, format="json")
    assert sent.status_code == 201


# Announcement rooms


def test_only_moderators_post_in_an_announcement_room(room, user, other_user):
    response = client_of(user).patch(f"/api/v1/rooms/{room.slug}/", {"post_policy": "moderators"}, format="json")

    assert response.status_code == 200
    assert response.json()["post_policy"] == "moderators"
    refused = client_of(other_user).post("/api/v1/messages/", {"content": "hi", "room": room.slug}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "posting_restricted"
    assert (
        client_of(user).post("/api/v1/messages/", {"content": "news", "room": room.slug}, format="json").status_code
        == 201
    )
    assert AuditEntry.objects.get().action == "room.post_policy"


def test_an_unknown_post_policy_is_400(room, user):
    response = client_of(user).patch(f"/api/v1/rooms/{room.slug}/", {"post_policy": "nobody"}, format="json")

    assert response.status_code == 400
    room.refresh_from_db()
    assert room.post_policy == "everyone"


# Reports


def test_a_reader_reports_and_the_moderators_are_notified(room, user, other_user, third, staff_user):
    room_join(actor=third, room=room)
    message = send(other_user, "rude", room=room)

    response = client_of(third).post(f"/api/v1/messages/{message.pk}/reports/", {"reason": "rude"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "open"
    assert body["room"] == room.slug
    assert body["message"]["id"] == message.pk
    notified = set(Notification.objects.filter(kind="report").values_list("recipient__username", flat=True))
    assert notified == {"alice", "root"}  # the room's owner and the workspace admin, not the reporter
    data = Notification.objects.filter(kind="report")[0].data
    assert data == {"report": body["id"], "room": room.slug, "message_id": message.pk, "seq": message.seq}


def test_one_open_report_per_reporter_and_message(room, user, other_user):
    message = send(user, "x", room=room)
    client = client_of(other_user)

    assert client.post(f"/api/v1/messages/{message.pk}/reports/", {"reason": "a"}, format="json").status_code == 201
    again = client.post(f"/api/v1/messages/{message.pk}/reports/", {"reason": "b"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_reported"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 501}, {"reason": ["x"]}])
def test_bad_reports_are_400(room, user, other_user, body):
    message = send(user, "x", room=room)

    assert client_of(other_user).post(f"/api/v1/messages/{message.pk}/reports/", body, format="json").status_code == 400
    assert not MessageReport.objects.exists()


def test_reports_are_rate_limited(settings, room, user, other_user):
    settings.CHAT_REPORT_RATE = "2/1h"
    client = client_of(other_user)
    messages = [send(user, f"m{i}", room=room) for i in range(3)]

    codes = [
        client.post(f"/api/v1/messages/{m.pk}/reports/", {"reason": "x"}, format="json").status_code for m in messages
    ]
    assert codes == [201, 201, 429]


def test_an_outsider_cannot_report_a_message_it_cannot_read(user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    message = send(user, "secret", room=private)

    response = client_of(other_user).post(f"/api/v1/messages/{message.pk}/reports/", {"reason": "x"}, format="json")

    assert response.status_code == 404


def test_the_report_queue_shows_each_moderator_their_rooms(room, user, other_user, third, staff_user):
    elsewhere = make_room(kind=Room.Kind.PUBLIC, members=(third, other_user))
    mine = send(other_user, "x", room=room)
    theirs = send(other_user, "y", room=elsewhere)
    client_of(third).post(f"/api/v1/messages/{theirs.pk}/reports/", {"reason": "y"}, format="json")
    room_join(actor=third, room=room)
    client_of(third).post(f"/api/v1/messages/{mine.pk}/reports/", {"reason": "x"}, format="json")

    def queue(who: User) -> list[int]:
        return [r["message"]["id"] for r in client_of(who).get("/api/v1/reports/").json()["results"]]

    assert queue(user) == [mine.pk]
    assert queue(other_user) == []
    assert sorted(queue(staff_user)) == sorted([mine.pk, theirs.pk])


def test_resolving_a_report(room, user, other_user):
    message = send(user, "x", room=room)
    report_id = (
        client_of(other_user)
        .post(f"/api/v1/messages/{message.pk}/reports/", {"reason": "x"}, format="json")
        .json()["id"]
    )

    assert client_of(other_user).post(f"/api/v1/reports/{report_id}/resolve/", {}, format="json").status_code == 404
    resolved = client_of(user).post(f"/api/v1/reports/{report_id}/resolve/", {"status": "dismissed"}, format="json")
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "dismissed"
    assert client_of(user).post(f"/api/v1/reports/{report_id}/resolve/", {}, format="json").status_code == 409
    assert client_of(user).get("/api/v1/reports/").json()["results"] == []
    assert len(client_of(user).get("/api/v1/reports/?status=all").json()["results"]) == 1
    assert AuditEntry.objects.get().action == "report.dismissed"


# Audit log


def test_the_audit_log_is_for_workspace_admins_filtered_and_paged(room, user, other_user, third, admin_api):
    room_join(actor=third, room=room)
    room_ban(actor=user, room=room, user_id=other_user.pk)
    room_mute(actor=user, room=room, user_id=third.pk, until=timezone.now() + timedelta(hours=1))
    for _ in range(3):
        send(user, "not audited", room=room)

    assert client_of(user).get("/api/v1/audit/").status_code == 403
    body = admin_api.get("/api/v1/audit/").json()
    assert [e["action"] for e in body["results"]] == ["room.mute", "room.ban"]
    assert body["next"] is None
    ban = body["results"][1]
    assert ban["actor"] == {"id": user.pk, "username": "alice"}
    assert ban["room"] == room.slug
    assert ban["target"] == {"type": "user", "id": other_user.pk, "label": "bob"}
    assert ban["via"] == "rest"
    assert [e["action"] for e in admin_api.get("/api/v1/audit/?action=room.ban").json()["results"]] == ["room.ban"]
    assert len(admin_api.get("/api/v1/audit/?action=room.").json()["results"]) == 2
    assert admin_api.get(f"/api/v1/audit/?actor={other_user.pk}").json()["results"] == []
    assert admin_api.get("/api/v1/audit/?room=nowhere").json()["results"] == []
    first = admin_api.get("/api/v1/audit/?limit=1").json()
    assert [e["action"] for e in first["results"]] == ["room.mute"]
    following = admin_api.get(first["next"]).json()
    assert [e["action"] for e in following["results"]] == ["room.ban"]
    assert following["next"] is None


@pytest.mark.parametrize("query", ["before=x", "before=0", "actor=-1", "limit=1000", "action=" + "x" * 41])
def test_bad_audit_queries_are_400(admin_api, query):
    assert admin_api.get(f"/api/v1/audit/?{query}").status_code == 400


def test_room_admin_actions_are_audited(client, staff_user):
    room = make_room(kind=Room.Kind.PUBLIC)
    client.force_login(staff_user)

    response = client.post("/admin/messaging/room/", {"action": "moderators_post", "_selected_action": [room.pk]})

    assert response.status_code == 302
    room.refresh_from_db()
    assert room.post_policy == "moderators"
    assert AuditEntry.objects.get().via == "admin"


def test_adding_a_banned_user_back_needs_the_ban_lifted(room, user, other_user):
    room_ban(actor=user, room=room, user_id=other_user.pk)
    room_add_member_refused = False
    try:
        room_add_member(actor=user, room=room, user=other_user)
    except Exception as exc:
        room_add_member_refused = getattr(exc, "code", "") == "banned"
    assert room_add_member_refused
