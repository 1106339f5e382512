"""Jobs for the tests of the job layer: each leaves a trace in a file, so other processes can see it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from jobs import Backoff, GiveUp, RetryLater, current_attempt, job


def _record(path: str, **extra: object) -> int:
    """Append one line about this run; return how many runs the file held before it."""
    target = Path(path)
    before = len(target.read_text().splitlines()) if target.exists() else 0
    line = {"at": time.time(), "pid": os.getpid(), "attempt": current_attempt(), **extra}
    with target.open("a") as file:
        file.write(json.dumps(line) + "\n")
    return before


def runs(path: str | Path) -> list[dict]:
    target = Path(path)
    return [json.loads(line) for line in target.read_text().splitlines()] if target.exists() else []


@job
def touch(*, path: str, note: str = "") -> None:
    _record(path, note=note)


@job(retry=Backoff(attempts=4, base=1.0, factor=2.0, jitter=0.0))
def fail_then_succeed(*, path: str, failures: int) -> str:
    """Fails ``failures`` times, then succeeds: retried after 1 s, then 2 s, then 4 s."""
    if _record(path) < failures:
        raise RuntimeError("not yet")
    return "done"


def _note_give_up(kwargs: dict, error: BaseException) -> None:
    _record(kwargs["path"] + ".gave-up", error=repr(error))


@job(retry=Backoff(attempts=2, base=0.0, jitter=0.0), on_give_up=_note_give_up)
def always_fails(*, path: str) -> None:
    _record(path)
    raise RuntimeError("never works")


@job
def slow_the_first_time(*, path: str, seconds: float) -> None:
    """The first run waits ``seconds`` (long enough to be killed in); later runs end at once."""
    if _record(path) == 0:
        time.sleep(seconds)


@job
def gives_up(*, path: str) -> None:
    _record(path)
    raise GiveUp("the row is gone")


@job
def asks_to_wait(*, path: str, seconds: float) -> None:
    if _record(path) == 0:
        raise RetryLater("busy", delay=seconds)


def not_a_job(*, path: str) -> None:
    _record(path)
