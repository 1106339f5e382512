"""Refused sends: the checks read in the statement that allocates the seq (services/posting.py) refuse
exactly as the separate reads did, store nothing, consume no seq (history stays gapless) and cost nothing
of the sender's budget, whether the room comes from a socket (``room=``) or from REST (``room_slug=``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from messaging.models import Membership, Message, Room, RoomSanction
from messaging.selectors import RoomNotFound
from messaging.services import message_edit, message_send, room_update
from messaging.services.errors import RoomArchived, SendingTooFast
from messaging.services.moderation import Muted, PostingRestricted, room_ban, room_mute, room_set_post_policy
from messaging.tests.factories import make_room, send
from users.models import User
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

Refusal = Callable[[Room, User, User], None]  # (room, its owner, the member refused)


def _archive(room: Room, owner: User, member: User) -> None:
    room_update(actor=owner, room=room, changes={"archived": True})


def _mute(room: Room, owner: User, member: User) -> None:
    room_mute(actor=owner, room=room, user_id=member.pk, until=timezone.now() + timedelta(hours=1))


def _restrict(room: Room, owner: User, member: User) -> None:
    room_set_post_policy(actor=owner, room=room, post_policy=Room.PostPolicy.MODERATORS)


def _ban(room: Room, owner: User, member: User) -> None:
    room_ban(actor=owner, room=room, user_id=member.pk)


REFUSALS: dict[str, tuple[Refusal, type[ApplicationError], Callable[[Room], object]]] = {
    "archived": (_archive, RoomArchived, lambda room: Room.objects.filter(pk=room.pk).update(archived=False)),
    "muted": (_mute, Muted, lambda room: RoomSanction.objects.filter(room=room).delete()),
    "restricted": (
        _restrict,
        PostingRestricted,
        lambda room: Room.objects.filter(pk=room.pk).update(post_policy="everyone"),
    ),
    "banned": (_ban, RoomNotFound, lambda room: RoomSanction.objects.filter(room=room).delete()),
}


@pytest.fixture(params=["socket", "rest"])
def via(request) -> Callable[..., Message]:
    """message_send as the socket consumer calls it (the Room it opened) or as REST does (the slug)."""

    def sending(sender: User, room: Room, content: str, **kwargs) -> Message:
        where = {"room": room} if request.param == "socket" else {"room_slug": room.slug}
        return message_send(sender=sender, content=content, **where, **kwargs).message

    return sending


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_a_refused_send_stores_nothing_and_leaves_no_gap_in_the_seqs(user, other_user, via, refusal):
    room = make_room(members=(user, other_user))
    refuse, error, lift = REFUSALS[refusal]
    first = via(other_user, room, "before")
    refuse(room, user, other_user)

    with pytest.raises(error):
        via(other_user, room, "refused", client_id="r-1")
    lift(room)
    Membership.objects.get_or_create(room=room, user=other_user)  # a ban took the membership
    after = via(other_user, room, "after", client_id="r-1")

    assert after.seq == first.seq + 1
    assert list(Message.objects.filter(room=room).values_list("seq", "content")) == [(1, "before"), (2, "after")]
    room.refresh_from_db()
    assert room.last_seq == 2


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_refused_sends_cost_nothing_of_the_budget(settings, user, other_user, via, refusal):
    settings.CHAT_MESSAGE_RATE = "2/100s"
    room = make_room(members=(user, other_user))
    refuse, error, lift = REFUSALS[refusal]
    refuse(room, user, other_user)

    for _ in range(5):
        with pytest.raises(error):
            via(other_user, room, "refused")
    lift(room)
    Membership.objects.get_or_create(room=room, user=other_user)

    assert [via(other_user, room, f"ok {n}").seq for n in range(2)] == [1, 2]
    with pytest.raises(SendingTooFast):
        via(other_user, room, "one too many")


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_over_budget_a_refusal_still_comes_first(settings, user, other_user, via, refusal):
    settings.CHAT_MESSAGE_RATE = "1/100s"
    room = make_room(members=(user, other_user))
    refuse, error, _lift = REFUSALS[refusal]
    via(other_user, room, "spends the budget")
    refuse(room, user, other_user)

    with pytest.raises(error):
        via(other_user, room, "refused")


def test_room_moderators_and_workspace_moderators_post_in_an_announcement_room(user, other_user, via):
    room = make_room(members=(user, other_user))
    _restrict(room, user, other_user)
    Membership.objects.filter(room=room, user=other_user).update(role=Membership.Role.MODERATOR)
    workspace_moderator = make_user("mod", role=User.Role.MODERATOR)

    assert via(user, room, "owner").seq == 1
    assert via(other_user, room, "room moderator").seq == 2
    assert via(workspace_moderator, room, "workspace moderator").seq == 3


def test_a_socket_of_a_removed_or_deactivated_member_is_refused_without_a_gap(user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))
    Membership.objects.filter(room=room, user=other_user).delete()
    with pytest.raises(RoomNotFound):
        message_send(sender=other_user, content="removed", room=room)
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(RoomNotFound):
        message_send(sender=user, content="deactivated", room=room)

    room.refresh_from_db()
    assert room.last_seq == 0
    assert not Message.objects.filter(room=room).exists()


def test_a_guest_writes_a_public_room_only_as_a_member(user):
    guest = make_user("guest", role=User.Role.GUEST)
    room = make_room(members=(user,))
    with pytest.raises(RoomNotFound):
        message_send(sender=guest, content="not a member", room=room)
    Membership.objects.create(room=room, user=guest)

    assert message_send(sender=guest, content="a member", room=room).message.seq == 1


def test_a_muted_author_may_not_edit_and_nothing_changes(user, other_user):
    room = make_room(members=(user, other_user))
    mine = send(other_user, "before", room=room)
    _mute(room, user, other_user)

    with pytest.raises(Muted):
        message_edit(actor=other_user, message_id=mine.pk, content="after")
    with pytest.raises(Muted):  # the mute is told before what is wrong with the text, as it always was
        message_edit(actor=other_user, message_id=mine.pk, content="   ")
    mine.refresh_from_db()
    assert (mine.content, mine.edited_at, mine.versions.count()) == ("before", None, 0)

    RoomSanction.objects.filter(room=room).delete()
    assert message_edit(actor=other_user, message_id=mine.pk, content="after").content == "after"
    assert mine.versions.count() == 1


def test_an_announcement_room_still_lets_authors_edit(user, other_user):
    room = make_room(members=(user, other_user))
    mine = send(other_user, "before", room=room)
    _restrict(room, user, other_user)

    assert message_edit(actor=other_user, message_id=mine.pk, content="after").content == "after"


@pytest.mark.parametrize("kind", [Room.Kind.PUBLIC, Room.Kind.PRIVATE])
@pytest.mark.parametrize("case", ["member", "outsider", "guest member", "guest outsider", "inactive", "banned"])
def test_the_seqs_statement_and_room_writable_agree_on_who_writes(user, kind, case):
    """The writable rule is written twice, in the ORM (selectors.room_writable: reactions, pins, webhooks)
    and in the seq's statement's SQL (posting.py): they must not drift apart."""
    from messaging.selectors import room_writable

    room = make_room(kind=kind, members=(user,))
    writer = make_user("w", role=User.Role.GUEST if case.startswith("guest") else User.Role.MEMBER)
    if case in {"member", "guest member", "inactive", "banned"}:
        Membership.objects.create(room=room, user=writer)
    if case == "inactive":
        User.objects.filter(pk=writer.pk).update(is_active=False)
    if case == "banned":
        RoomSanction.objects.create(room=room, user=writer, kind=RoomSanction.Kind.BAN)
    expected = case in {"member", "guest member"} or (kind == Room.Kind.PUBLIC and case == "outsider")

    assert room_writable(user_id=writer.pk, room=room) is expected
    try:
        message_send(sender=writer, content="hi", room=room)
        posted = True
    except RoomNotFound:
        posted = False
    assert posted is expected
