"""Nobody learns anything about a room they may not read, over every endpoint of the second release.

One private room holds one of everything (a message with an image, a reply, an edit, a pin, a
reaction, a read position, a report, a webhook, a ban), and a group conversation exists beside it.
Each kind of outsider (a stranger, a member banned from it, a guest, a deactivated member, a stranger's
read-only API token, an administrator who is not a member) calls every endpoint about them, and each
answer must be exactly the answer about a missing object: same status, same body; lists and counts
must not show them, and nothing may be stored. The socket side is in realtime/tests/test_no_leak_frames.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from messaging.models import Message, MessageReport, Notification, Reaction, Room
from messaging.services.moderation import room_ban
from messaging.tests.factories import general, make_room, png, send
from users.api_tokens import api_token_create
from users.models import User
from users.tests.factories import make_user, token_for

pytestmark = pytest.mark.django_db

THUMBS_UP = quote("👍", safe="")
MISSING = 987654


def client(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def answer(response: Any) -> tuple[int, Any]:
    if response.get("Content-Type", "").startswith("application/json"):
        return response.status_code, response.json()
    return response.status_code, response.content


@pytest.fixture
def world(db, settings) -> dict[str, Any]:
    """Ana's private room with one of everything, her group conversation, and the outsiders."""
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = True
    general()
    ana, bob, dora = make_user("ana"), make_user("bob"), make_user("dora")
    room = make_room(kind=Room.Kind.PRIVATE, members=(ana, bob, dora), slug="secret")
    owner = client(token_for(ana))
    (upload,) = owner.post("/api/v1/files/", {"file": png()}, format="multipart").json()["files"]
    assert upload["thumbnail_url"]
    posted = owner.post(
        "/api/v1/messages/", {"room": "secret", "content": "zebracorn plans", "attachments": [upload["id"]]}
    )
    message = posted.json()["id"]
    assert owner.post("/api/v1/messages/", {"room": "secret", "content": "ok", "reply_to": message}).status_code == 201
    assert owner.patch(f"/api/v1/messages/{message}/", {"content": "zebracorn plans v2"}).status_code == 200
    assert owner.put(f"/api/v1/messages/{message}/pin/").status_code == 200
    assert owner.put(f"/api/v1/messages/{message}/reactions/{THUMBS_UP}/").status_code == 200
    assert owner.post("/api/v1/rooms/secret/read/").status_code == 200
    report = owner.post(f"/api/v1/messages/{message}/reports/", {"reason": "spam"}).json()["id"]
    hook = owner.post("/api/v1/rooms/secret/webhooks/", {"name": "CI"}).json()["id"]
    assert owner.post("/api/v1/rooms/secret/bans/", {"user": bob.pk}).status_code == 201
    erin, fred = make_user("erin"), make_user("fred")
    group = owner.post("/api/v1/rooms/direct/", {"users": [erin.pk, fred.pk]}).json()["slug"]
    dora_token = token_for(dora)
    User.objects.filter(pk=dora.pk).update(is_active=False)
    stranger, guest = make_user("stan"), make_user("gus", role=User.Role.GUEST)
    admin = make_user("root", is_staff=True, is_superuser=True)
    read_token = api_token_create(actor=stranger, name="ro", scopes=["read"]).text
    outsiders = {
        "stranger": client(token_for(stranger)),
        "banned": client(token_for(bob)),
        "guest": client(token_for(guest)),
        "deactivated": client(dora_token),
        "read-only token": client(read_token),
        "admin, not a member": client(token_for(admin)),
        "moderator, not a member": client(token_for(make_user("mo", role=User.Role.MODERATOR))),
    }
    ids = {
        "message": message,
        "file": upload["id"],
        "hook": hook,
        "group": group,
        "banned_id": bob.pk,
        "report": report,
    }
    return {"room": room, **ids, **outsiders}


OUTSIDERS = [
    "stranger",
    "banned",
    "guest",
    "deactivated",
    "read-only token",
    "admin, not a member",
    "moderator, not a member",
]
# Workspace admins and moderators read and resolve every room's reports (README "Teams").
SEE_EVERY_REPORT = {"admin, not a member", "moderator, not a member"}


def calls(w: dict[str, Any], who: str) -> list[tuple[Any, ...]]:
    """(method, path about the private room, the same path about something missing, body[, the body's
    last value about something missing, when the body names the room's thing])."""
    m, f, h = w["message"], w["file"], w["hook"]
    about = [
        ("get", "/api/v1/search/?q=zebracorn&room=secret", "/api/v1/search/?q=zebracorn&room=nope", None),
        ("get", f"/api/v1/messages/{m}/", f"/api/v1/messages/{MISSING}/", None),
        ("get", f"/api/v1/messages/{m}/thread/", f"/api/v1/messages/{MISSING}/thread/", None),
        ("put", f"/api/v1/messages/{m}/follow/", f"/api/v1/messages/{MISSING}/follow/", None),
        (
            "put",
            f"/api/v1/messages/{m}/reactions/{THUMBS_UP}/",
            f"/api/v1/messages/{MISSING}/reactions/{THUMBS_UP}/",
            None,
        ),
        (
            "delete",
            f"/api/v1/messages/{m}/reactions/{THUMBS_UP}/",
            f"/api/v1/messages/{MISSING}/reactions/{THUMBS_UP}/",
            None,
        ),
        ("get", f"/api/v1/messages/{m}/readers/", f"/api/v1/messages/{MISSING}/readers/", None),
        ("put", f"/api/v1/messages/{m}/pin/", f"/api/v1/messages/{MISSING}/pin/", None),
        ("delete", f"/api/v1/messages/{m}/pin/", f"/api/v1/messages/{MISSING}/pin/", None),
        ("get", "/api/v1/rooms/secret/pins/", "/api/v1/rooms/nope/pins/", None),
        ("get", f"/api/v1/messages/{m}/history/", f"/api/v1/messages/{MISSING}/history/", None),
        ("post", f"/api/v1/messages/{m}/reports/", f"/api/v1/messages/{MISSING}/reports/", {"reason": "x"}),
        ("get", "/api/v1/rooms/secret/", "/api/v1/rooms/nope/", None),
        ("patch", "/api/v1/rooms/secret/", "/api/v1/rooms/nope/", {"topic": "mine"}),
        ("patch", "/api/v1/rooms/secret/membership/", "/api/v1/rooms/nope/membership/", {"notify": "none"}),
        ("get", "/api/v1/rooms/secret/members/", "/api/v1/rooms/nope/members/", None),
        ("get", "/api/v1/rooms/secret/bans/", "/api/v1/rooms/nope/bans/", None),
        ("get", "/api/v1/rooms/secret/mutes/", "/api/v1/rooms/nope/mutes/", None),
        ("post", "/api/v1/rooms/secret/bans/", "/api/v1/rooms/nope/bans/", {"user": 1}),
        ("delete", f"/api/v1/rooms/secret/bans/{w['banned_id']}/", f"/api/v1/rooms/nope/bans/{w['banned_id']}/", None),
        ("get", "/api/v1/rooms/secret/webhooks/", "/api/v1/rooms/nope/webhooks/", None),
        ("post", "/api/v1/rooms/secret/webhooks/", "/api/v1/rooms/nope/webhooks/", {"name": "mine"}),
        (
            "post",
            f"/api/v1/rooms/general/webhooks/{h}/rotate/",
            f"/api/v1/rooms/general/webhooks/{MISSING}/rotate/",
            None,
        ),
        ("delete", f"/api/v1/rooms/general/webhooks/{h}/", f"/api/v1/rooms/general/webhooks/{MISSING}/", None),
        ("get", f"/api/v1/rooms/{w['group']}/", "/api/v1/rooms/dm-g-000000000000000000000000/", None),
        ("get", f"/api/v1/files/{f}/", f"/api/v1/files/{MISSING}/", None),
        ("get", f"/api/v1/files/{f}/thumbnail/", f"/api/v1/files/{MISSING}/thumbnail/", None),
        ("get", "/api/v1/messages/?room=secret", "/api/v1/messages/?room=nope", None),
        ("get", "/api/v1/audit/?room=secret", "/api/v1/audit/?room=nope", None),
        ("patch", f"/api/v1/messages/{m}/", f"/api/v1/messages/{MISSING}/", {"content": "mine now"}),
        ("delete", f"/api/v1/messages/{m}/", f"/api/v1/messages/{MISSING}/", None),
        ("post", "/api/v1/messages/", "/api/v1/messages/", {"content": "x", "attachments": [f]}, [MISSING]),
        ("post", "/api/v1/messages/", "/api/v1/messages/", {"content": "x", "reply_to": m}, MISSING),
        ("post", "/api/v1/messages/", "/api/v1/messages/", {"room": "secret", "content": "x"}, "nope"),
        ("post", "/api/v1/rooms/secret/read/", "/api/v1/rooms/nope/read/", None),
        ("post", "/api/v1/rooms/secret/members/", "/api/v1/rooms/nope/members/", None),
        ("delete", "/api/v1/rooms/secret/members/me/", "/api/v1/rooms/nope/members/me/", None),
        ("patch", "/api/v1/rooms/secret/members/1/", "/api/v1/rooms/nope/members/1/", {"role": "owner"}),
        ("delete", "/api/v1/rooms/secret/mutes/1/", "/api/v1/rooms/nope/mutes/1/", None),
        ("delete", "/api/v1/rooms/secret/", "/api/v1/rooms/nope/", None),
    ]
    if who not in SEE_EVERY_REPORT:
        r = w["report"]
        about.append(
            ("post", f"/api/v1/reports/{r}/resolve/", f"/api/v1/reports/{MISSING}/resolve/", {"status": "dismissed"})
        )
    return about


@pytest.mark.parametrize("who", OUTSIDERS)
def test_every_answer_about_the_private_room_is_the_answer_about_nothing(world, who) -> None:
    api: APIClient = world[who]
    before = (Reaction.objects.count(), MessageReport.objects.count(), Message.objects.count())
    for method, real, missing, body, *instead in calls(world, who):
        if who == "admin, not a member" and real.startswith("/api/v1/audit/"):
            continue  # administrators read the audit log of every room (README "Teams")
        send: Callable[..., Any] = getattr(api, method)
        other = {**body, list(body)[-1]: instead[0]} if instead else body
        told, untold = answer(send(real, body, format="json")), answer(send(missing, other, format="json"))
        assert told == untold, f"{who}: {method.upper()} {real} answers {told}, a missing one {untold}"
        assert told[0] in {200, 400, 401, 403, 404}, (who, method, real, told)  # 400: the same field error
        if told[0] == 200:  # only the searches and the audit log answer about nothing with a list
            assert told[1]["results"] == [], (who, real, told)
    assert (Reaction.objects.count(), MessageReport.objects.count(), Message.objects.count()) == before


@pytest.mark.parametrize("who", OUTSIDERS)
def test_lists_and_counts_show_nothing_of_the_private_room(world, who) -> None:
    api: APIClient = world[who]
    rooms = api.get("/api/v1/rooms/")
    if rooms.status_code == 401:  # the deactivated member: signed out everywhere
        assert who == "deactivated"
        return
    slugs = [room["slug"] for room in rooms.json()["results"]]
    assert "secret" not in slugs
    assert world["group"] not in slugs
    assert api.get("/api/v1/search/?q=zebracorn").json()["results"] == []
    reports = api.get("/api/v1/reports/")
    if who not in SEE_EVERY_REPORT:
        assert reports.status_code == 403 or reports.json()["count"] == 0
    mine = api.get("/api/v1/notifications/").json()["results"]
    assert not [n for n in mine if "secret" in str(n["data"])]


def test_the_outsiders_answers_differ_from_a_members(world, client_for) -> None:
    """The comparison above can fail: a member gets the room's things where outsiders get 404."""
    member = client_for(User.objects.get(username="ana"))
    assert member.get(f"/api/v1/messages/{world['message']}/history/").json()[0]["content"] == "zebracorn plans"
    assert member.get("/api/v1/search/?q=zebracorn").json()["results"]
    assert member.get(f"/api/v1/files/{world['file']}/thumbnail/").status_code == 200


def test_mentions_and_thread_replies_reach_nobody_who_may_not_read_the_public_room(db) -> None:
    general()
    ana, bo = make_user("ana"), make_user("bo")
    make_user("cy")
    make_user("gus", role=User.Role.GUEST)
    room = make_room(members=(ana,))
    root = send(bo, "a thread bo follows", room=room)
    room_ban(actor=ana, room=room, user_id=bo.pk)

    send(ana, "@bo @gus @cy the plans", room=room)
    send(ana, "a reply", room=room, reply_to_id=root.pk)

    told = set(Notification.objects.values_list("recipient__username", "kind"))
    assert told == {("cy", "mention")}


@pytest.mark.parametrize("who", ["banned", "guest"])
def test_a_public_room_is_missing_to_those_banned_from_it_and_to_guests(db, who) -> None:
    general()
    ana = make_user("ana")
    outsider = make_user("bo", role=User.Role.GUEST if who == "guest" else User.Role.MEMBER)
    room = make_room(members=(ana,), slug="lobby")
    message = send(ana, "zebracorn in the lobby", room=room, reply_to_id=send(ana, "root", room=room).pk)
    if who == "banned":
        room_ban(actor=ana, room=room, user_id=outsider.pk)
    api, m = client(token_for(outsider)), message.pk
    for real, missing in [
        ("/api/v1/rooms/lobby/", "/api/v1/rooms/nope/"),
        ("/api/v1/messages/?room=lobby", "/api/v1/messages/?room=nope"),
        (f"/api/v1/messages/{m}/", f"/api/v1/messages/{MISSING}/"),
        (f"/api/v1/messages/{m}/thread/", f"/api/v1/messages/{MISSING}/thread/"),
        (f"/api/v1/messages/{m}/readers/", f"/api/v1/messages/{MISSING}/readers/"),
        (f"/api/v1/messages/{m}/history/", f"/api/v1/messages/{MISSING}/history/"),
        ("/api/v1/rooms/lobby/pins/", "/api/v1/rooms/nope/pins/"),
        ("/api/v1/search/?q=zebracorn&room=lobby", "/api/v1/search/?q=zebracorn&room=nope"),
    ]:
        assert answer(api.get(real)) == answer(api.get(missing)), real
    assert api.put(f"/api/v1/messages/{m}/reactions/{THUMBS_UP}/").status_code == 404
    assert api.get("/api/v1/search/?q=zebracorn").json()["results"] == []
    assert "lobby" not in [room["slug"] for room in api.get("/api/v1/rooms/").json()["results"]]
