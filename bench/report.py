"""Render results as the markdown tables of bench/results/latest.md, a JSON of raw numbers and a plot.

Absolute numbers drift between machines, so every table has "x baseline" columns: the project's median
divided by the baseline's median from the same invocation.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.stats import ratio

Results = dict[str, Any]
Column = tuple[str, Callable[[Mapping[str, Any], Mapping[str, Any] | None], str]]


def fmt(value: object, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and abs(value) >= 1000):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def col(key: str, digits: int = 1) -> Callable[[Mapping[str, Any], Mapping[str, Any] | None], str]:
    return lambda row, _base: fmt(row.get(key), digits)


def versus(key: str) -> Callable[[Mapping[str, Any], Mapping[str, Any] | None], str]:
    def cell(row: Mapping[str, Any], base: Mapping[str, Any] | None) -> str:
        value = ratio(row.get(key), base.get(key)) if base else math.nan
        return "-" if math.isnan(value) else f"{value:.2f}x"

    return cell


def pair(first: str, second: str, digits: int = 1) -> Callable[[Mapping[str, Any], Mapping[str, Any] | None], str]:
    return lambda row, _base: f"{fmt(row.get(first))} / {fmt(row.get(second), digits)}"


COLUMNS: dict[str, list[Column]] = {
    "fanout": [
        ("delivered/s", col("received_per_s", 0)),
        ("lost", col("lost", 0)),
        ("dup", col("duplicates", 0)),
        ("p50 / p99 ms", pair("p50_ms", "p99_ms")),
        ("server CPU %", col("server_cpu_pct", 0)),
        ("CPU µs/delivery", col("server_cpu_us_per_delivery", 2)),
        ("Redis µs/delivery", col("redis_cpu_us_per_delivery", 2)),
        ("throughput x baseline", versus("received_per_s")),
        ("CPU/delivery x baseline", versus("server_cpu_us_per_delivery")),
        ("loadgen CPU %", col("loadgen_cpu_pct", 0)),
    ],
    "capacity": [
        ("clients at p95 ≤ limit", col("capacity_clients", 0)),
        ("delivered/s there", col("received_per_s", 0)),
        ("p95 ms there", col("p95_ms")),
        ("CPU µs/delivery there", col("server_cpu_us_per_delivery", 2)),
        ("stopped at clients", col("stopped_at_clients", 0)),
        ("p95 ms / lost there", pair("stopped_p95_ms", "stopped_lost", 0)),
        ("loadgen-bound", col("loadgen_bound")),
        ("capacity x baseline", versus("capacity_clients")),
    ],
    "connect": [
        ("connected", col("connected", 0)),
        ("open after 1 s", col("open_after_1s", 0)),
        ("conn/s", col("connections_per_s")),
        ("handshake p50 / p99 ms", pair("handshake_p50_ms", "handshake_p99_ms")),
        ("CPU ms/conn", col("server_cpu_ms_per_connection", 2)),
        ("RSS KiB/conn", col("rss_kib_per_connection")),
        ("reached by a broadcast", col("reached_by_broadcast", 0)),
        ("loadgen CPU %", col("loadgen_cpu_pct", 0)),
        ("conn/s x baseline", versus("connections_per_s")),
        ("KiB/conn x baseline", versus("rss_kib_per_connection")),
    ],
    "reconnect": [
        ("back / live", pair("back", "live", 0)),
        ("restart s", col("restart_s", 2)),
        ("all back / all live s after ready", pair("back_after_ready_s", "live_after_ready_s", 2)),
        ("all live s after SIGTERM", col("live_after_sigterm_s", 2)),
        ("back p50 / p99 s", pair("back_p50_s", "back_p99_s", 2)),
        ("live p50 / p99 s", pair("live_p50_s", "live_p99_s", 2)),
        ("attempts", col("connect_attempts", 0)),
        ("refused (503) after ready", col("refused_503", 0)),
        ("CPU ms/conn", col("server_cpu_ms_per_connection", 2)),
        ("reached by a broadcast", col("reached_by_broadcast", 0)),
        ("all live after ready x baseline", versus("live_after_ready_s")),
    ],
    "rest": [
        ("POST/s", col("post_per_s")),
        ("POST p50 / p99 ms", pair("post_p50_ms", "post_p99_ms")),
        ("POST failed", col("post_failed", 0)),
        ("delivered p50 / p99 ms", pair("delivery_p50_ms", "delivery_p99_ms")),
        ("lost", col("lost", 0)),
        ("GET/s", col("get_per_s")),
        ("GET p50 / p99 ms", pair("get_p50_ms", "get_p99_ms")),
        ("loadgen CPU % POST / GET", pair("post_loadgen_cpu_pct", "get_loadgen_cpu_pct", 0)),
        ("POST/s x baseline", versus("post_per_s")),
        ("GET/s x baseline", versus("get_per_s")),
    ],
}

TITLES = {
    "fanout": "Fan-out",
    "capacity": "Capacity (every client sends 1 message/s; room grown until p95 delivery passes the limit)",
    "connect": "Connect burst (authenticated sockets, then idle)",
    "reconnect": "Reconnect storm (every socket back after the server process is restarted)",
    "rest": "REST (closed loop: POST /api/v1/messages/ delivered to listening sockets, then GET history)",
}


def table(scenario: str, case: Mapping[str, Any]) -> list[str]:
    columns = COLUMNS[scenario]
    base = case.get("baseline", {}).get("median")
    lines = [
        "| target | runs | " + " | ".join(name for name, _ in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for target, outcome in case.items():
        median = outcome.get("median")
        runs = f"{len(outcome.get('runs', []))}"
        if median is None:
            reason = "; ".join(dict.fromkeys(outcome.get("failures", []))) or "no run completed"
            lines.append(f"| {target} | 0 | failed: {reason[:300]} |" + " |" * (len(columns) - 1))
            continue
        lines.append(f"| {target} | {runs} | " + " | ".join(cell(median, base) for _, cell in columns) + " |")
    return lines


def markdown(results: Results) -> str:
    m = results["machine"]
    out = [
        "# Benchmark results",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']} ({m['platform']})",
        f"- When: {results['started']} (git {results.get('git') or 'unknown'})",
        f"- Command: `{results['command']}`",
        f"- Pinning: server on CPU {results['options']['server_cpus']}, load generator on CPU "
        f"{results['options']['loadgen_cpus']}; medians of the runs shown; method in bench/README.md",
        f"- Database: {results['options']['database']}",
        "",
    ]
    for scenario, cases in results["scenarios"].items():
        for label, case in cases.items():
            out += [f"## {TITLES[scenario]}{f' — {label}' if label else ''}", "", *table(scenario, case), ""]
    return "\n".join(out)


def write(results: Results, directory: Path) -> list[Path]:
    """Write latest.md, latest.json and (when matplotlib is installed) latest.png; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "latest.md", directory / "latest.json"]
    paths[0].write_text(markdown(results) + "\n")
    paths[1].write_text(json.dumps(results, indent=1, default=str, allow_nan=True) + "\n")
    png = plot(results, directory / "latest.png")
    return [*paths, png] if png else paths


def _bars(results: Results) -> list[tuple[str, dict[str, float]]]:
    """(panel title, {target: value}) for the headline number of every scenario case."""
    headline = {
        "fanout": [("received_per_s", "delivered/s"), ("server_cpu_us_per_delivery", "server CPU µs/delivery")],
        "capacity": [("capacity_clients", "clients at p95 ≤ 500 ms")],
        "connect": [("connections_per_s", "connections/s"), ("rss_kib_per_connection", "RSS KiB/connection")],
        "rest": [("post_per_s", "POST/s"), ("get_per_s", "GET/s")],
        "reconnect": [("live_after_ready_s", "s until all live")],
    }
    panels = []
    for scenario, cases in results["scenarios"].items():
        for label, case in cases.items():
            for key, unit in headline[scenario]:
                values = {t: float(o["median"].get(key, math.nan)) for t, o in case.items() if o.get("median")}
                panels.append((f"{unit}\n{textwrap.fill(f'{scenario}: {label}', 38)}", values))
    return panels


def plot(results: Results, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels = _bars(results)
    if not panels:
        return None
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.8 * columns, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (title, values) in zip(axes.flat, panels, strict=False):
        ax.bar(range(len(values)), list(values.values()), color="#4c72b0")
        ax.set_xticks(range(len(values)), list(values), rotation=45, ha="right", fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
