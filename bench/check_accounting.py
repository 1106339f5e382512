"""Self-test of the load generator's accounting: ``.venv/bin/pytest bench/check_accounting.py``.

Named check_*.py, not test_*.py, so the project's test run (python_files = test_*.py) never collects
bench code; pytest still runs a file named on its command line. A benchmark that miscounts loss or
duplicates is worse than none, so the arithmetic is checked here on hand-made receipts.
"""

from __future__ import annotations

import json
import math

import pytest

from bench.loadgen import Client, Fleet
from bench.stats import account, find_marker, make_marker, medians, percentile, ratio

SECOND = 1_000_000_000
WINDOW = (10 * SECOND, 20 * SECOND)


def sent(n: int, at: int) -> str:
    return make_marker(1, n, at)


def test_every_receiver_getting_every_message_once_is_no_loss() -> None:
    log = [sent(n, WINDOW[0] + n * SECOND) for n in range(4)]
    receipts = [[(m, int(m.rsplit(".", 1)[1]) + 2_000_000) for m in log] for _ in range(3)]

    result = account(log, receipts, receivers=3, window=WINDOW)

    assert (result.sent, result.expected, result.delivered, result.lost, result.duplicates) == (4, 12, 12, 0, 0)
    assert result.p50_ms == pytest.approx(2.0)
    assert result.delivered_per_s == pytest.approx(12 / 10)


def test_missing_receipts_are_lost_and_repeats_are_duplicates_not_deliveries() -> None:
    a, b = sent(0, WINDOW[0]), sent(1, WINDOW[0] + SECOND)
    receipts = [
        [(a, WINDOW[0] + 1), (b, WINDOW[0] + SECOND + 1)],
        [(a, WINDOW[0] + 1), (a, WINDOW[0] + 5)],  # b lost, a twice
    ]

    result = account([a, b], receipts, receivers=2, window=WINDOW)

    assert (result.expected, result.delivered, result.lost, result.duplicates) == (4, 3, 1, 1)


def test_messages_sent_outside_the_window_are_not_counted() -> None:
    warmup, inside, after = sent(0, WINDOW[0] - 1), sent(1, WINDOW[0]), sent(2, WINDOW[1])
    receipts = [[(warmup, WINDOW[0]), (inside, WINDOW[0] + 1), (after, WINDOW[1] + 1)]]

    result = account([warmup, inside, after], receipts, receivers=1, window=WINDOW)

    assert (result.sent, result.delivered, result.lost) == (1, 1, 0)


def test_a_receiver_that_got_nothing_counts_its_whole_share_as_lost() -> None:
    log = [sent(n, WINDOW[0] + n) for n in range(5)]
    receipts = [[(m, WINDOW[0] + 10) for m in log], []]

    result = account(log, receipts, receivers=2, window=WINDOW)

    assert (result.expected, result.delivered, result.lost) == (10, 5, 5)


def test_latency_percentiles_use_nearest_rank() -> None:
    ordered = [float(n) for n in range(1, 101)]

    assert percentile(ordered, 50) == 50.0
    assert percentile(ordered, 99) == 99.0
    assert math.isnan(percentile([], 50))


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
def test_the_marker_is_found_in_a_broadcast_frame_after_the_sender_object(separators: tuple[str, str]) -> None:
    marker = make_marker(7, 3, 1_700_000_000_000_000_000)
    content = Fleet(["ws://x"], ["t"]).content(marker)
    frame = {
        "type": "message",
        "message": {"id": 1, "seq": 1, "sender": {"id": 2, "username": "bench00007"}, "content": content},
    }

    assert find_marker(json.dumps(frame, separators=separators)) == marker
    assert find_marker(json.dumps({"type": "ack", "client_id": "c7.3.1", "id": 1, "seq": 1})) is None


def test_medians_take_numbers_across_runs_and_ratios_guard_against_zero() -> None:
    merged = medians([{"rate": 1.0, "codes": {"a": 1}}, {"rate": 3.0}, {"rate": 2.0}])

    assert merged == {"rate": 2.0, "codes": {"a": 1}}
    assert ratio(2.0, 4.0) == 0.5
    assert math.isnan(ratio(1.0, 0.0))


def test_throughput_counts_arrivals_in_the_window_and_cpu_spans_the_drain() -> None:
    fleet = Fleet(["ws://x"], ["t"])
    early, inside = sent(0, WINDOW[0] - SECOND), sent(1, WINDOW[0] + SECOND)
    client = Client(index=0, ws=None)  # type: ignore[arg-type]  # no socket: only its receipts are read
    # early (warm-up) arrives inside the window; inside arrives during the drain.
    client.receipts += [(early, WINDOW[0] + 1), (inside, WINDOW[1] + 1)]

    result = fleet._result([early, inside], [client], WINDOW, own_cpu_s=1.0)

    assert (result.received_in_window, result.received_until_drained) == (1, 2)
    assert (result.deliveries.sent, result.deliveries.delivered, result.deliveries.lost) == (1, 1, 0)
