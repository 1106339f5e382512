"""A room's stream on its own: seq order, gaps filled from the database, duplicates dropped, catch-up."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from realtime.hub import streams
from realtime.hub.streams import RoomStream
from realtime.tests.fakes import FakeSocket, settle


class Store:
    """The room's stored messages as the database would give them, and the reads made."""

    def __init__(self, seqs: Iterable[int] = ()) -> None:
        self.rows = {seq: (seq, f"m{seq}", 9) for seq in seqs}
        self.reads: list[tuple[int, int]] = []
        self.fail = False

    async def fetch(self, room_id: int, after: int, upto: int) -> list[tuple[int, str, int | None]]:
        self.reads.append((after, upto))
        if self.fail:
            raise ConnectionError("database gone")
        return [self.rows[s] for s in sorted(self.rows) if after < s <= upto]


def make_stream(store: Store, *, at: int = 0) -> tuple[RoomStream, FakeSocket, list[RoomStream]]:
    landed: list[RoomStream] = []
    stream = RoomStream(room_id=1, slug="general", fetch=store.fetch, on_message=landed.append)
    follower = FakeSocket()
    stream.start_at(at)
    stream.followers.add(follower)
    return stream, follower, landed


def frames(deliveries) -> list[str]:
    return [delivery.frame for delivery in deliveries]


async def test_messages_in_order_are_released_at_once_and_counted():
    stream, _follower, landed = make_stream(Store(), at=4)

    assert frames(stream.offer(5, "m5")) == ["m5"]
    assert frames(stream.offer(6, "m6")) == ["m6"]
    assert stream.delivered == 6
    assert len(landed) == 2


async def test_a_message_ahead_waits_for_the_one_before():
    stream, _follower, _ = make_stream(Store(), at=0)

    assert stream.offer(2, "m2") == []
    assert frames(stream.offer(1, "m1")) == ["m1", "m2"]


async def test_duplicates_are_dropped_by_seq():
    stream, _follower, landed = make_stream(Store(), at=0)
    stream.offer(1, "m1")

    assert stream.offer(1, "m1 again") == []
    assert stream.offer(0, "older") == []
    assert len(landed) == 1


async def test_frames_without_a_seq_go_out_as_they_come():
    stream, _follower, landed = make_stream(Store(), at=3)

    assert stream.offer(None, "edit") == [(stream.followers, "edit", None)]
    assert landed == []


async def test_a_gap_is_filled_from_the_database_after_a_grace(monkeypatch):
    monkeypatch.setattr(streams, "GAP_GRACE_SECONDS", 0)
    store = Store(range(1, 4))
    stream, follower, landed = make_stream(store, at=0)

    stream.offer(3, "m3 live")
    await settle()

    assert store.reads == [(0, 3)]
    assert follower.delivered == ["m1", "m2", "m3 live"]  # the live frame is kept, not read again
    assert stream.delivered == 3
    assert len(landed) == 3


async def test_what_is_still_missing_after_a_read_was_purged_and_is_skipped():
    store = Store([2])  # 1 is gone for good
    stream, follower, _ = make_stream(store, at=0)

    await stream.catch_up(3)

    assert follower.delivered == ["m2"]
    assert stream.delivered == 3
    assert frames(stream.offer(4, "m4")) == ["m4"]


async def test_a_long_gap_is_caught_up_in_batches(monkeypatch):
    monkeypatch.setattr(streams, "CATCH_UP_BATCH", 2)
    store = Store(range(1, 6))
    stream, follower, _ = make_stream(store, at=0)

    await stream.catch_up(5)
    await stream.catch_up(5)
    await stream.catch_up(5)

    assert store.reads == [(0, 2), (2, 4), (4, 5)]
    assert follower.delivered == ["m1", "m2", "m3", "m4", "m5"]


async def test_a_failed_read_keeps_what_waits_and_tries_again():
    store = Store(range(1, 3))
    store.fail = True
    stream, follower, _ = make_stream(store, at=0)
    stream.offer(2, "m2")

    await stream.catch_up(2)
    assert follower.delivered == []
    store.fail = False
    await stream.catch_up(2)

    assert follower.delivered == ["m1", "m2"]


async def test_what_arrives_before_the_stream_is_ready_only_moves_it_on():
    """No socket follows yet: the stream starts after what arrived early, and the replay covers it."""
    landed: list[RoomStream] = []
    stream = RoomStream(room_id=1, slug="general", fetch=Store().fetch, on_message=landed.append)

    assert stream.offer(5, "m5") == []
    stream.start_at(4)

    assert stream.delivered == 5
    assert frames(stream.offer(6, "m6")) == ["m6"]


@pytest.mark.parametrize("at", [0, 10])
async def test_start_at_never_goes_back(at):
    stream, _follower, _ = make_stream(Store(), at=7)

    stream.start_at(at)

    assert stream.delivered == max(7, at)
