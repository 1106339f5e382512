"""A replay (the messages a reconnecting socket missed) cut into ``history`` frames small enough to send."""

from __future__ import annotations

from typing import Any

from realtime.kernel import encode
from realtime.protocol import history


def history_frames(messages: list[dict[str, Any]], *, max_bytes: int) -> list[str] | None:
    """A replay as encoded ``history`` frames of at most ``max_bytes`` of UTF-8 each, in seq order, only
    the last ``complete`` (one empty frame when nothing was missed); None when a message alone does not
    fit, so that the client pages over REST instead.

    daphne refuses to send a frame over 1 MiB: a replay in one frame killed the socket on every reconnect.
    """
    overhead = len(encode(history([], complete=False)).encode())
    batches: list[list[dict[str, Any]]] = [[]]
    size = overhead
    for message in messages:
        length = len(encode(message).encode()) + 1  # and its comma
        if overhead + length > max_bytes:
            return None
        if batches[-1] and size + length > max_bytes:
            batches.append([])
            size = overhead
        batches[-1].append(message)
        size += length
    last = len(batches) - 1
    return [encode(history(batch, complete=index == last)) for index, batch in enumerate(batches)]
