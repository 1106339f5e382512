"""Worker health check: exit 0 when the heartbeat file was touched in the last MAX_AGE seconds, else 1.

A worker touches CHAT_JOBS_HEARTBEAT_FILE after each look for due jobs (every CHAT_JOBS_SCHEDULE_INTERVAL,
1 s), and only while its job processes run and the database answers (standard library only).
"""

from __future__ import annotations

import os
import sys
import time

DEFAULT_MAX_AGE = 30.0


def fresh(path: str, *, max_age: float, now: float | None = None) -> bool:
    try:
        touched = os.stat(path).st_mtime
    except OSError:
        return False
    return (now if now is not None else time.time()) - touched <= max_age


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else os.environ.get("CHAT_JOBS_HEARTBEAT_FILE", "")
    max_age = float(argv[2]) if len(argv) > 2 else DEFAULT_MAX_AGE
    return 0 if path and fresh(path, max_age=max_age) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
