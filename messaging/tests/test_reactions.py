"""Reactions over REST: idempotent add and remove, the aggregate on payloads, the frame to the room, bad
emoji, caps, budgets, and that nobody learns anything about a room they may not read."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import limits
from messaging.models import Message, Reaction, Room
from messaging.services import message_delete, reaction_set
from messaging.services.errors import InvalidEmoji
from messaging.services.reactions import emoji_check
from messaging.tests.factories import make_room, send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

THUMBS = "\N{THUMBS UP SIGN}"


def url(message_id: int, emoji: str) -> str:
    return f"/api/v1/messages/{message_id}/reactions/{quote(emoji, safe='')}/"


def frames(events, kind: str) -> list[dict]:
    return [json.loads(e["frame"]) for e in events if "frame" in e and f'"type":"{kind}"' in e["frame"]]


def test_put_adds_once_and_answers_the_aggregate(api, other_api, user, other_user):
    message = send(user, "ship it")

    first = api.put(url(message.pk, THUMBS))
    again = api.put(url(message.pk, THUMBS))
    other = other_api.put(url(message.pk, THUMBS))
    short = other_api.put(url(message.pk, ":shipit:"))

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == [{"emoji": THUMBS, "count": 1, "user_ids": [user.pk]}]
    assert other.json() == [{"emoji": THUMBS, "count": 2, "user_ids": [user.pk, other_user.pk]}]
    assert short.json()[1] == {"emoji": ":shipit:", "count": 1, "user_ids": [other_user.pk]}
    assert Reaction.objects.count() == 3
    assert api.get(f"/api/v1/messages/{message.pk}/").json()["reactions"] == short.json()


def test_delete_removes_only_your_own_and_is_idempotent(api, other_api, user, other_user):
    message = send(user, "hi")
    api.put(url(message.pk, THUMBS))
    other_api.put(url(message.pk, THUMBS))

    removed = other_api.delete(url(message.pk, THUMBS))
    again = other_api.delete(url(message.pk, THUMBS))
    never = other_api.delete(url(message.pk, ":tada:"))

    assert removed.status_code == again.status_code == never.status_code == 200
    assert removed.json() == [{"emoji": THUMBS, "count": 1, "user_ids": [user.pk]}]
    api.delete(url(message.pk, THUMBS))
    assert Message.objects.get(pk=message.pk).reaction_summary == []


def test_a_change_is_broadcast_once_to_the_room_and_a_repeat_is_not(events, user, other_user):
    message = send(user, "hi")
    events.clear()

    reaction_set(actor=other_user, message_id=message.pk, emoji=THUMBS, added=True)
    reaction_set(actor=other_user, message_id=message.pk, emoji=THUMBS, added=True)
    reaction_set(actor=other_user, message_id=message.pk, emoji=THUMBS, added=False)
    reaction_set(actor=other_user, message_id=message.pk, emoji=THUMBS, added=False)

    sent = frames(events, "reaction")
    user_ref = {"id": other_user.pk, "username": "bob"}
    common = {"type": "reaction", "room": "general", "message_id": message.pk, "seq": message.seq, "emoji": THUMBS}
    assert sent == [{**common, "user": user_ref, "added": True}, {**common, "user": user_ref, "added": False}]


def test_user_ids_list_the_first_twenty_and_count_all(user):
    message = send(user, "popular")
    people = [make_user() for _ in range(limits.REACTION_USER_IDS + 3)]
    for person in people:
        reaction_set(actor=person, message_id=message.pk, emoji=THUMBS, added=True)

    summary = Message.objects.get(pk=message.pk).reaction_summary

    assert summary == [{"emoji": THUMBS, "count": 23, "user_ids": [p.pk for p in people[:20]]}]


@pytest.mark.parametrize(
    "emoji",
    [
        THUMBS,
        "\N{THUMBS UP SIGN}\N{EMOJI MODIFIER FITZPATRICK TYPE-4}",
        "\N{HEAVY BLACK HEART}\ufe0f",
        "\N{REGIONAL INDICATOR SYMBOL LETTER F}\N{REGIONAL INDICATOR SYMBOL LETTER R}",
        "\N{MAN}\u200d\N{WOMAN}\u200d\N{GIRL}\u200d\N{BOY}",
        "\N{WOMAN}\N{EMOJI MODIFIER FITZPATRICK TYPE-3}\u200d\N{PERSONAL COMPUTER}",
        "1\ufe0f\u20e3",
        "\N{WAVING BLACK FLAG}\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        ":shipit:",
        ":+1:",
        ":" + "a" * limits.REACTION_SHORT_CODE + ":",
    ],
)
def test_one_emoji_or_a_short_code_is_accepted(emoji):
    assert emoji_check(emoji) == emoji


@pytest.mark.parametrize(
    "emoji",
    [
        "",
        "a",
        "ok",
        THUMBS * 2,
        THUMBS + " ",
        "<script>",
        "::",
        ":Ship It:",
        ":" + "a" * (limits.REACTION_SHORT_CODE + 1) + ":",
        "shipit:",
        "\u200d",
        "\ufe0f",
        "\N{REGIONAL INDICATOR SYMBOL LETTER F}",
        THUMBS + "\x00",
        "1",
        None,
        5,
    ],
)
def test_anything_else_is_invalid_emoji(emoji):
    with pytest.raises(InvalidEmoji):
        emoji_check(emoji)


@pytest.mark.parametrize(
    ("emoji", "code"),
    [
        ("a", "invalid_emoji"),
        ("%F0%9F%91%8D%F0%9F%91%8D", "invalid_emoji"),
        (":Ship%20It:", "invalid_emoji"),
        ("x" * 65, "invalid_emoji"),
        ("%00", "parse_error"),  # refused before routing, as any NUL in a path
    ],
)
def test_the_api_refuses_a_bad_emoji_with_400_and_stores_nothing(api, user, emoji, code):
    message = send(user, "hi")

    response = api.put(f"/api/v1/messages/{message.pk}/reactions/{emoji}/")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Reaction.objects.count() == 0


def test_a_message_takes_a_bounded_number_of_different_emoji(api, user):
    message = send(user, "hi")
    for index in range(limits.REACTIONS_PER_MESSAGE):
        assert api.put(url(message.pk, f":e{index}:")).status_code == 200

    refused = api.put(url(message.pk, ":one-too-many:"))
    known = api.put(url(message.pk, ":e0:"))

    assert refused.status_code == 400
    assert refused.json()["code"] == "too_many_reactions"
    assert known.status_code == 200
    assert Reaction.objects.count() == limits.REACTIONS_PER_MESSAGE


def test_reactions_spend_a_budget(api, user, settings):
    settings.CHAT_REACTION_RATE = "2/min"
    message = send(user, "hi")

    codes = [api.put(url(message.pk, f":e{i}:")).status_code for i in range(3)]
    refused = api.put(url(message.pk, ":late:"))

    assert codes == [200, 200, 429]
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["retry_after"] >= 1
    assert Reaction.objects.count() == 2


def test_deleted_messages_cannot_be_reacted_to_and_lose_their_reactions(api, other_api, user):
    message = send(user, "hi")
    other_api.put(url(message.pk, THUMBS))
    message_delete(actor=user, message_id=message.pk)

    response = api.put(url(message.pk, THUMBS))

    assert response.status_code == 404
    assert Reaction.objects.count() == 0
    payload = api.get(f"/api/v1/messages/{message.pk}/").json()
    assert payload["reactions"] == []


def test_non_members_of_a_private_room_get_the_404_of_a_missing_message(api, other_api, user, other_user):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    message = send(user, "secret", room=private)
    api.put(url(message.pk, THUMBS))

    for response in (
        other_api.put(url(message.pk, THUMBS)),
        other_api.delete(url(message.pk, THUMBS)),
        other_api.put(url(999999, THUMBS)),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "No such message.", "code": "not_found"}
    # A bad emoji is refused before any message is looked up: the same answer for hidden and missing.
    assert other_api.put(url(message.pk, "a")).json() == other_api.put(url(999999, "a")).json()
    assert Reaction.objects.count() == 1


def test_history_pages_carry_reactions_without_a_query_per_message(api, user, other_user):
    for index in range(5):
        message = send(user, f"m{index}")
        reaction_set(actor=other_user, message_id=message.pk, emoji=THUMBS, added=True)

    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/messages/?limit=1")
    with CaptureQueriesContext(connection) as many:
        body = api.get("/api/v1/messages/?limit=5").json()

    assert len(many) == len(few)
    assert all(m["reactions"] == [{"emoji": THUMBS, "count": 1, "user_ids": [other_user.pk]}] for m in body["results"])
