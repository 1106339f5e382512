"""Deleting a user (an administrator's deletion, a bot's owner deleting it) takes their reactions away
and rewrites the totals of every message they were on, in the deleting transaction; the rooms get the
``reaction`` frames (``added: false``) any removal sends."""

from __future__ import annotations

import json

import pytest

from messaging.models import Message, Reaction
from messaging.services import message_delete, reaction_set
from messaging.tests.factories import make_room, send
from users import api_tokens
from users.services import user_delete

THUMBS = "\N{THUMBS UP SIGN}"
HEART = "\N{HEAVY BLACK HEART}"


def totals(message: Message) -> list[tuple[str, int, list[int]]]:
    message.refresh_from_db()
    return [(entry["emoji"], entry["count"], entry["user_ids"]) for entry in message.reaction_summary]


def react(user, message, *emoji: str) -> None:
    for each in emoji:
        reaction_set(actor=user, message_id=message.pk, emoji=each, added=True)


@pytest.mark.django_db
def test_deleting_a_user_recounts_every_message_they_reacted_to(user, other_user, staff_user):
    first, second, untouched = send(user, "one"), send(user, "two"), send(user, "three")
    react(other_user, first, THUMBS, HEART)
    react(user, first, THUMBS)
    react(other_user, second, THUMBS)
    react(user, untouched, HEART)

    user_delete(actor=staff_user, user=other_user)

    assert totals(first) == [(THUMBS, 1, [user.pk])]
    assert totals(second) == []
    assert totals(untouched) == [(HEART, 1, [user.pk])]
    assert Reaction.objects.count() == 2


@pytest.mark.django_db
def test_over_rest_too(admin_api, user, other_user):
    message = send(user, "hello")
    react(other_user, message, THUMBS)

    assert admin_api.delete(f"/api/v1/users/{other_user.pk}/").status_code == 204

    assert totals(message) == []


@pytest.mark.django_db
def test_deleting_a_bot_recounts_its_reactions(user):
    bot = api_tokens.bot_create(actor=user, username="helper-bot", display_name="Helper")
    message = send(user, "hello")
    react(bot, message, THUMBS)

    api_tokens.bot_delete(actor=user, bot_id=bot.pk)

    assert totals(message) == []


@pytest.mark.django_db
def test_a_refused_deletion_changes_no_totals(user, other_user):
    message = send(user, "hello")
    react(other_user, message, THUMBS)

    with pytest.raises(Exception, match="administrators"):
        user_delete(actor=user, user=other_user)

    assert totals(message) == [(THUMBS, 1, [other_user.pk])]


@pytest.mark.django_db
def test_the_first_user_ids_move_up_when_one_of_them_goes(user, other_user, staff_user):
    message = send(user, "hello")
    react(other_user, message, THUMBS)
    react(user, message, THUMBS)

    user_delete(actor=staff_user, user=other_user)

    assert totals(message) == [(THUMBS, 1, [user.pk])]


@pytest.mark.django_db
def test_a_user_without_reactions_changes_nothing(user):
    from messaging.services.reactions import reactions_forget_user

    assert reactions_forget_user(user=user) == 0


def test_the_rooms_hear_each_removal_after_commit_but_not_for_deleted_messages(events, user, other_user, staff_user):
    room = make_room(members=(user, other_user))
    kept, gone = send(user, "kept", room=room), send(user, "gone", room=room)
    react(other_user, kept, THUMBS, HEART)
    react(other_user, gone, THUMBS)
    message_delete(actor=user, message_id=gone.pk)
    events.clear()
    reactor = other_user.pk  # the deleted instance's pk becomes None

    user_delete(actor=staff_user, user=other_user)

    sent = [json.loads(e["frame"]) for e in events if '"type":"reaction"' in e.get("frame", "")]
    assert sorted((f["message_id"], f["emoji"], f["added"], f["user"]["id"]) for f in sent) == sorted(
        [(kept.pk, THUMBS, False, reactor), (kept.pk, HEART, False, reactor)]
    )
    assert {f["room"] for f in sent} == {room.slug}
