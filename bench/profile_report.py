"""Where a server's CPU went, from py-spy's collapsed stacks: shares by layer of the stack and by function.

``python -m bench.run --profile`` attaches py-spy to every project process and writes one collapsed-stack
file per process (``function (file.py:line);...;leaf count`` per line); this module turns those into the
tables quoted in the README, so a claim such as "the handshake is mostly Django" comes with its samples.
Run it alone on any set of files: ``python -m bench.profile_report bench/results/profiles/<run>/*.txt``.

py-spy cannot tell a waiting thread from a running one here (its idle detection does not work in
``--nonblocking`` mode, and not in our containers either), so samples whose innermost frame is a wait
(``IDLE_FRAMES``: a thread parked on a lock or a queue, the event loop in ``select``) are counted as idle
and left out; what remains are the *busy* samples. A thread waiting for the GIL is still sampled
where it stands, so with several busy threads (Django's request threads beside the event loop) the
shares are of thread time, close to but not exactly shares of CPU.

Two views, both as shares of the busy samples:
- *self*, by the package of the innermost frame: where the interpreter actually was;
- *inclusive*, by function: the share of samples with that function anywhere on the stack, counted once
  per sample even when recursive; it answers "what does everything under X cost".
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")

# The first path component of a frame's file, mapped to the layer a reader recognises.
LAYERS: dict[str, str] = {
    **dict.fromkeys(("twisted", "daphne", "autobahn", "txaio", "zope"), "daphne + Twisted (HTTP/WebSocket)"),
    "django": "Django",
    "rest_framework": "Django REST framework",
    **dict.fromkeys(("rest_framework_simplejwt", "jwt", "cryptography"), "JWT (simplejwt, PyJWT)"),
    **dict.fromkeys(("channels", "asgiref"), "Channels + asgiref"),
    **dict.fromkeys(("channels_redis", "redis", "msgpack"), "Redis client (channels-redis, redis-py)"),
    **dict.fromkeys(("sqlite3", "psycopg", "psycopg_pool"), "database driver"),
    **dict.fromkeys(("chatsite", "users", "messaging", "realtime"), "project code"),
    **dict.fromkeys(("asyncio", "selectors", "concurrent", "threading", "queue"), "asyncio + threads (stdlib)"),
}
OTHER_STDLIB = "other stdlib and libraries"

# Innermost frames that mean "waiting", by function and file (the line number is ignored).
IDLE_FRAMES = frozenset(
    {
        ("Condition.wait", "threading.py"),
        ("Event.wait", "threading.py"),
        ("Thread._wait_for_tstate_lock", "threading.py"),
        ("_worker", "concurrent/futures/thread.py"),  # a pool thread blocked on its work queue
        ("EpollSelector.select", "selectors.py"),
        ("_PollLikeSelector.select", "selectors.py"),
        ("SimpleQueue.get", "queue.py"),
        ("Queue.get", "queue.py"),
    }
)


@dataclass
class Profile:
    """Samples of one or more processes, as stacks (root first) with their counts."""

    stacks: Counter[tuple[str, ...]] = field(default_factory=Counter)
    idle: int = 0

    @property
    def samples(self) -> int:
        """Busy samples: the idle ones are not in ``stacks``."""
        return sum(self.stacks.values())

    def add_file(self, path: Path) -> None:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not (stack and count.isdigit()):
                continue
            frames = tuple(stack.split(";"))
            if is_idle(frames[-1]):
                self.idle += int(count)
            else:
                self.stacks[frames] += int(count)


def is_idle(frame: str) -> bool:
    match = _FRAME.match(frame)
    return match is not None and (match["function"], match["file"].replace("\\", "/")) in IDLE_FRAMES


def frame_file(frame: str) -> str:
    match = _FRAME.match(frame)
    return match["file"] if match else ""


def layer_of(frame: str) -> str:
    top = frame_file(frame).replace("\\", "/").split("/", 1)[0].removesuffix(".py")
    return LAYERS.get(top, OTHER_STDLIB)


def self_by_layer(profile: Profile) -> list[tuple[str, float]]:
    shares: Counter[str] = Counter()
    for stack, count in profile.stacks.items():
        shares[layer_of(stack[-1])] += count
    return _as_shares(shares, profile.samples)


def inclusive_by_function(profile: Profile, *, skip_layers: Iterable[str] = ()) -> list[tuple[str, float]]:
    skipped = set(skip_layers)
    shares: Counter[str] = Counter()
    for stack, count in profile.stacks.items():
        for frame in set(stack):
            if layer_of(frame) not in skipped:
                shares[frame] += count
    return _as_shares(shares, profile.samples)


def _as_shares(counts: Counter[str], total: int) -> list[tuple[str, float]]:
    return [(name, 100.0 * n / total) for name, n in counts.most_common()] if total else []


def markdown(title: str, profile: Profile, *, top: int = 20) -> str:
    """One target's tables: self time by layer, then the heaviest functions inclusive of their callees."""
    total = profile.samples + profile.idle
    lines = [f"### {title}", "", f"{profile.samples:,} busy samples ({profile.idle:,} idle of {total:,} left out).", ""]
    lines += ["| layer (innermost frame) | self % |", "|---|---:|"]
    lines += [f"| {name} | {share:.1f} |" for name, share in self_by_layer(profile)]
    # The event loop's and the thread pool's run loops are on nearly every stack: they say nothing.
    noise = {"asyncio + threads (stdlib)"}
    heaviest = [(f, s) for f, s in inclusive_by_function(profile, skip_layers=noise) if s < 99.5][:top]
    lines += ["", "| function (file:first line), heaviest inclusive | inclusive % |", "|---|---:|"]
    lines += [f"| `{frame}` | {share:.1f} |" for frame, share in heaviest]
    return "\n".join(lines) + "\n"


def target_of(path: Path) -> str:
    """``project-memory-0-123456-789.txt`` → ``project-memory`` (the target; index, time and pid dropped)."""
    return re.sub(r"-\d+-\d{6}-\d+$", "", path.stem)


def write_summary(directory: Path, heading: str) -> Path | None:
    """Merge the directory's files per target and write ``profiles.md`` next to them."""
    by_target: dict[str, Profile] = {}
    for path in sorted(directory.glob("*.txt")):
        by_target.setdefault(target_of(path), Profile()).add_file(path)
    if not by_target:
        return None
    parts = [f"# Profiles: {heading}", ""]
    parts += [markdown(name, profile) for name, profile in by_target.items()]
    out = directory / "profiles.md"
    out.write_text("\n".join(parts))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, help="py-spy --format raw outputs (merged)")
    parser.add_argument("--top", type=int, default=20, help="functions listed")
    args = parser.parse_args(argv)
    profile = Profile()
    for path in args.files:
        profile.add_file(path)
    print(markdown(", ".join(p.name for p in args.files), profile, top=args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
