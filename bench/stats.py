"""Loss, duplicate and latency accounting, and medians across runs: pure functions, checked on their own.

Receivers only record (marker, receive time) on the hot path; everything else happens here, after the
drain period, so the accounting costs the load generator nothing while it is measuring.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

MARKER_PREFIX = "~bm"  # content starts "~bm<sender>.<n>.<send ns>|": unique, carries its send time; "~" is
# never in a username, so the marker cannot be found in the sender object that precedes the content
MARKER_END = "|"

Receipt = tuple[str, int]  # (marker, receive time in ns)


def make_marker(sender: int, n: int, sent_ns: int) -> str:
    return f"{MARKER_PREFIX}{sender}.{n}.{sent_ns}"


def find_marker(text: str) -> str | None:
    """The marker inside a delivered frame's text, found without parsing the JSON (the hot path)."""
    start = text.find(MARKER_PREFIX)
    if start < 0:
        return None
    return text[start : text.find(MARKER_END, start)]


def marker_sent_ns(marker: str) -> int:
    return int(marker.rsplit(".", 1)[1])


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (nan when empty)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Deliveries:
    """What the receivers got of the messages sent inside the measured window."""

    sent: int
    receivers: int
    expected: int
    delivered: int
    lost: int
    duplicates: int
    window_s: float
    delivered_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def account(
    sent: Iterable[str],
    receipts: Iterable[Iterable[Receipt]],
    *,
    receivers: int,
    window: tuple[int, int],
) -> Deliveries:
    """Count deliveries of the messages whose send time lies in ``window`` (ns, half-open).

    Every one of ``receivers`` sockets is expected to get every such message once (the sender gets its
    own message too, as in a chat room). Receipts of messages outside the window (warm-up) are ignored;
    a second receipt of a message by the same receiver is a duplicate, a missing one is lost.
    """
    start, end = window
    measured = {m for m in sent if start <= marker_sent_ns(m) < end}
    delivered = duplicates = 0
    latencies: list[float] = []
    for per_receiver in receipts:
        seen: set[str] = set()
        for marker, received_ns in per_receiver:
            if marker not in measured:
                continue
            if marker in seen:
                duplicates += 1
                continue
            seen.add(marker)
            delivered += 1
            latencies.append((received_ns - marker_sent_ns(marker)) / 1e6)
    latencies.sort()
    expected = len(measured) * receivers
    window_s = (end - start) / 1e9
    return Deliveries(
        sent=len(measured),
        receivers=receivers,
        expected=expected,
        delivered=delivered,
        lost=expected - delivered,
        duplicates=duplicates,
        window_s=window_s,
        delivered_per_s=delivered / window_s if window_s > 0 else math.nan,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else math.nan,
    )


def latency_summary(samples_ms: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/max of request or connect latencies, in ms."""
    ordered = sorted(samples_ms)
    return {
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1] if ordered else math.nan,
    }


def medians(runs: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """Per key, the median over runs of numeric values (nan ignored); other values from the first run."""
    merged: dict[str, object] = {}
    for key in dict.fromkeys(k for run in runs for k in run):
        values = [run.get(key) for run in runs]
        numbers = [
            float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v)
        ]
        if numbers:
            merged[key] = statistics.median(numbers)
        elif any(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            merged[key] = math.nan
        else:
            merged[key] = next((v for v in values if v is not None), None)
    return merged


def ratio(value: object, reference: object) -> float:
    """``value / reference`` for the "vs baseline" columns; nan when either is missing or zero."""
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return math.nan
    if reference == 0 or math.isnan(reference) or math.isnan(value):
        return math.nan
    return value / reference
