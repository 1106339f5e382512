import pytest
from channels.db import database_sync_to_async

from messaging.models import Message, Room
from messaging.tests.factories import make_room, send
from realtime.tests.sockets import make_socket, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

make_room_async = database_sync_to_async(make_room)
send_async = database_sync_to_async(send)


async def count_messages() -> int:
    return await database_sync_to_async(Message.objects.count)()


async def test_a_message_is_acked_and_reaches_every_follower_but_no_outsider(general_room, user, other_user):
    elsewhere = await make_room_async(slug="elsewhere")
    alice = await open_socket(user=user)
    bob = await open_socket(user=other_user)
    outsider = await open_socket(user=other_user, room="elsewhere")

    await alice.send(type="message", content="hi @bob", client_id="c1")

    frames = await alice.frames_until("ack")
    ack = frames[-1]
    message = (await bob.frame())["message"]
    assert ack == {"type": "ack", "client_id": "c1", "id": message["id"], "seq": 1}
    assert message["content"] == "hi @bob"
    assert message["sender"]["id"] == user.pk
    assert message["room"] == "general"
    assert "is_mine" not in message  # broadcast frames carry no per-recipient field
    assert await outsider.receive_nothing(0.2)
    assert elsewhere.slug == "elsewhere"
    for client in (alice, bob, outsider):
        await client.disconnect()


async def test_every_socket_of_the_sender_gets_the_message(general_room, user):
    tab1 = await open_socket(user=user)
    tab2 = await open_socket(user=user)

    await tab1.send(type="message", content="from tab 1")

    assert (await tab2.frame())["message"]["content"] == "from tab 1"
    await tab1.disconnect()
    await tab2.disconnect()


async def test_a_rest_message_reaches_sockets_through_the_same_service(general_room, user, other_user):
    bob = await open_socket(user=other_user)

    await send_async(user, "over REST")

    frame = await bob.frame()
    assert frame["type"] == "message"
    assert frame["message"]["content"] == "over REST"
    await bob.disconnect()


async def test_a_retried_client_id_is_stored_once_and_acked_with_the_same_id(general_room, user, other_user):
    alice = await open_socket(user=user)
    bob = await open_socket(user=other_user)

    await alice.send(type="message", content="once", client_id="retry-me")
    first = (await alice.frames_until("ack"))[-1]
    await alice.send(type="message", content="once", client_id="retry-me")
    second = (await alice.frames_until("ack"))[-1]

    assert second["id"] == first["id"]
    assert await count_messages() == 1
    assert (await bob.frame())["message"]["client_id"] == "retry-me"
    assert await bob.receive_nothing(0.2)  # broadcast once
    await alice.disconnect()
    await bob.disconnect()


async def test_a_reused_client_id_with_other_content_is_an_error_frame(general_room, user):
    alice = await open_socket(user=user)
    await alice.send(type="message", content="one", client_id="k")
    await alice.frames_until("ack")

    await alice.send(type="message", content="two", client_id="k")

    assert await alice.frame() == {
        "type": "error",
        "code": "client_id_conflict",
        "detail": "This client_id was already used for a different message.",
        "client_id": "k",
    }
    await alice.disconnect()


async def test_last_seq_replays_what_was_missed_then_goes_live(general_room, user, other_user):
    for i in range(5):
        await send_async(other_user, f"m{i}")

    alice = await open_socket(user=user, last_seq=2)
    history = await alice.frame()
    await send_async(other_user, "live")

    assert history["type"] == "history"
    assert [m["seq"] for m in history["messages"]] == [3, 4, 5]
    assert (await alice.frame())["message"]["seq"] == 6
    await alice.disconnect()


async def test_last_seq_beyond_the_replay_limit_asks_for_a_resync(general_room, user, settings):
    settings.CHAT_REPLAY_LIMIT = 3
    for i in range(6):
        await send_async(user, f"m{i}")

    alice = await open_socket(user=user, last_seq=1)

    assert await alice.frame() == {"type": "resync", "last_seq": 1, "latest_seq": 6}
    await alice.disconnect()


async def test_an_up_to_date_last_seq_gets_an_empty_history(general_room, user):
    await send_async(user, "m")

    alice = await open_socket(user=user, last_seq=1)

    assert await alice.frame() == {"type": "history", "messages": [], "complete": True}
    assert await alice.receive_nothing(0.2)
    await alice.disconnect()


@pytest.mark.parametrize("last_seq", ["abc", "-1", "1.5", "9" * 30])
async def test_a_malformed_last_seq_is_an_error_frame_and_the_socket_goes_live(general_room, user, last_seq):
    alice = await open_socket(user=user, last_seq=last_seq)

    assert (await alice.frame())["code"] == "invalid_field"
    await alice.send(type="message", content="still fine")
    assert (await alice.frames_until("ack"))[-1]["type"] == "ack"
    await alice.disconnect()


@pytest.mark.parametrize("room", ["no-such-room", "x" * 100, "../general"])
async def test_an_unknown_room_closes_with_4404(general_room, user, room):
    client = make_socket(user=user, room=room)

    connected, _ = await client.connect()

    assert connected
    assert await client.closed_with() == 4404


async def test_a_private_room_of_others_closes_with_4404_like_a_missing_one(general_room, user, other_user):
    await make_room_async(slug="secret", kind=Room.Kind.PRIVATE, members=(other_user,))

    client = make_socket(user=user, room="secret")
    await client.connect()

    assert await client.closed_with() == 4404


async def test_members_follow_their_private_rooms(general_room, user, other_user):
    await make_room_async(slug="team", kind=Room.Kind.PRIVATE, members=(other_user, user))
    alice = await open_socket(user=user, room="team")
    bob = await open_socket(user=other_user, room="team")

    await alice.send(type="message", content="team only")

    assert (await bob.frame())["message"]["room"] == "team"
    await alice.disconnect()
    await bob.disconnect()


async def test_typing_is_broadcast_throttled_and_never_stored(general_room, user, other_user, settings):
    settings.CHAT_TYPING_INTERVAL = 60
    alice = await open_socket(user=user)
    bob = await open_socket(user=other_user)

    await alice.send(type="typing")
    await alice.send(type="typing")

    assert await bob.frame() == {"type": "typing", "user": {"id": user.pk, "username": "alice"}}
    assert await bob.receive_nothing(0.2)
    assert await count_messages() == 0
    await alice.disconnect()
    await bob.disconnect()


async def test_edits_deletes_and_purges_reach_the_sockets(general_room, user, staff_user):
    from messaging.services import message_delete, message_edit, messages_purge

    message = await send_async(user, "tpyo")
    alice = await open_socket(user=user)

    await database_sync_to_async(message_edit)(actor=user, message_id=message.pk, content="typo")
    updated = await alice.frame()
    await database_sync_to_async(message_delete)(actor=user, message_id=message.pk)
    deleted = await alice.frame()
    await database_sync_to_async(messages_purge)(actor=staff_user)
    purged = await alice.frame()

    assert updated["type"] == "message_updated"
    assert updated["message"]["content"] == "typo"
    assert deleted == {"type": "message_deleted", "id": message.pk, "seq": message.seq, "room": "general"}
    assert purged == {"type": "messages_purged", "room": None}
    await alice.disconnect()


async def test_leaving_a_private_room_closes_its_sockets_with_4404(general_room, user, other_user):
    from messaging.services import room_remove_member

    room = await make_room_async(slug="team", kind=Room.Kind.PRIVATE, members=(other_user, user))
    alice_team = await open_socket(user=user, room="team")
    alice_general = await open_socket(user=user)

    await database_sync_to_async(room_remove_member)(actor=user, room=room, user=user)

    assert await alice_team.closed_with() == 4404
    assert await alice_general.receive_nothing(0.2)
    await alice_general.disconnect()


async def test_a_socket_that_fails_while_opening_is_forgotten(general_room, user, monkeypatch):
    from realtime import consumers
    from realtime.hub import get_hub

    async def broken(*args):
        raise RuntimeError("database gone")

    monkeypatch.setattr(consumers, "_replay", broken)
    client = make_socket(user=user, last_seq=0)
    await send_async(user, "so that there is something to replay")

    connected, _ = await client.connect()

    assert connected
    assert await client.closed_with() == 1011
    hub = await get_hub()
    assert all(not stream.followers for stream in hub.rooms.streams.values())
    assert hub.rooms.following == {}


async def test_deleting_a_room_closes_its_sockets_with_4404(general_room, user, staff_user):
    from messaging.services import room_delete

    room = await make_room_async(slug="doomed")
    alice = await open_socket(user=user, room="doomed")

    await database_sync_to_async(room_delete)(actor=staff_user, room=room)

    assert await alice.closed_with() == 4404
