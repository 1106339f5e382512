"""Replay after ``last_seq``: split into ``history`` frames that each fit a WebSocket frame.

daphne refuses to send a frame over 1 MiB; a replay sent as one frame killed the socket on every
reconnect (70 messages of 4,000 emoji were enough). The end-to-end test over daphne is in
``test_e2e_sockets.py``; these pin down the splitting.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from messaging.tests.factories import send
from realtime import replay_frames
from realtime.tests.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

send_async = database_sync_to_async(send)


def payload(seq: int, content: str) -> dict:
    return {"id": seq, "seq": seq, "content": content}


def split(messages: list[dict[str, Any]], *, max_bytes: int) -> list[str]:
    """``history_frames`` of a replay it can split (None only when a message alone is too big)."""
    frames = replay_frames.history_frames(messages, max_bytes=max_bytes)
    assert frames is not None
    return frames


def test_a_replay_within_the_budget_is_one_complete_frame():
    frames = split([payload(1, "a"), payload(2, "b")], max_bytes=16 * 1024)

    assert [json.loads(frame) for frame in frames] == [
        {"type": "history", "messages": [payload(1, "a"), payload(2, "b")], "complete": True}
    ]


def test_nothing_missed_is_one_empty_complete_frame():
    assert [json.loads(f) for f in split([], max_bytes=16 * 1024)] == [
        {"type": "history", "messages": [], "complete": True}
    ]


def test_a_long_replay_is_split_into_frames_within_the_budget_in_seq_order():
    messages = [payload(seq, "😀" * 1000) for seq in range(1, 61)]  # ~4 KB of UTF-8 each

    frames = split(messages, max_bytes=16 * 1024)

    assert len(frames) > 10
    assert all(len(frame.encode()) <= 16 * 1024 for frame in frames)
    decoded = [json.loads(frame) for frame in frames]
    assert [m for frame in decoded for m in frame["messages"]] == messages
    assert [frame["complete"] for frame in decoded] == [False] * (len(frames) - 1) + [True]
    assert all(frame["messages"] for frame in decoded)


def test_a_frame_is_filled_up_to_the_budget_exactly():
    overhead = len(split([], max_bytes=16 * 1024)[0].encode()) + 1  # "true" -> "false"
    message = payload(1, "x" * 100)
    size = len(json.dumps(message, separators=(",", ":")).encode()) + 1

    frames = split([message] * 3, max_bytes=overhead + 2 * size)

    assert [len(json.loads(frame)["messages"]) for frame in frames] == [2, 1]


def test_a_message_that_does_not_fit_alone_asks_for_a_resync():
    assert replay_frames.history_frames([payload(1, "x" * 20_000)], max_bytes=16 * 1024) is None


async def test_a_missed_history_over_the_budget_arrives_in_several_frames_then_live(general_room, user, settings):
    settings.CHAT_REPLAY_FRAME_BYTES = 16 * 1024
    settings.CHAT_SOCKET_RATE, settings.CHAT_SOCKET_BURST = 1000, 1000
    for index in range(30):
        await send_async(user, f"{index} " + "😀" * 1000)

    alice = await open_socket(user=user, last_seq=0)
    frames = await alice.frames_until("history")
    while not frames[-1]["complete"]:
        frames.append(await alice.frame())
    await send_async(user, "live after the replay")
    live = await alice.frame()

    histories = [frame for frame in frames if frame["type"] == "history"]
    replayed = [message["seq"] for frame in histories for message in frame["messages"]]
    assert len(histories) > 3
    assert replayed == list(range(1, 31))
    assert all(len(json.dumps(f, ensure_ascii=False, separators=(",", ":")).encode()) <= 16 * 1024 for f in histories)
    assert live["type"] == "message"
    assert live["message"]["seq"] == 31
    await alice.disconnect()


async def test_a_replay_with_a_message_larger_than_a_frame_asks_for_a_resync(general_room, user, settings):
    settings.CHAT_REPLAY_FRAME_BYTES = 16 * 1024
    settings.CHAT_MAX_MESSAGE_LENGTH = 5000
    await send_async(user, "small")
    await send_async(user, "😀" * 5000)  # 20 KB of UTF-8: more than a frame on its own

    alice = await open_socket(user=user, last_seq=0)

    assert await alice.frame() == {"type": "resync", "last_seq": 0, "latest_seq": 2}
    await alice.disconnect()
