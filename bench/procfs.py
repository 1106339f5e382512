"""CPU time and memory of a server's process tree, read from /proc, and a description of the machine.

Measured from the outside so the numbers do not depend on the server's cooperation and cost it nothing:
utime+stime of every process in the tree before and after a window, RSS summed over the tree.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces), or None if gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def tree(root: int) -> list[int]:
    """``root`` and all its live descendants (uvicorn reloaders, daphne children, taskset wrappers)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(roots: list[int]) -> float:
    """User + system CPU seconds consumed so far by the process trees under ``roots``."""
    ticks = 0
    for root in roots:
        for pid in tree(root):
            fields = _stat_fields(pid)
            if fields:
                ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / CLOCK_TICKS


def rss_bytes(roots: list[int]) -> int:
    """Resident memory of the process trees under ``roots``."""
    total = 0
    for root in roots:
        for pid in tree(root):
            try:
                total += int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE_SIZE
            except (OSError, IndexError, ValueError):
                continue
    return total


def self_cpu_seconds() -> float:
    """CPU seconds of this process (the load generator), to tell when it, not the server, is the limit."""
    times = os.times()
    return times.user + times.system


def machine() -> dict[str, str | int]:
    """CPU model, cores and Python version: absolute numbers only mean something next to these."""
    model = platform.processor() or "unknown"
    try:
        for line in (PROC / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count() or 1,
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
    }
