"""The send path in-process: ``message_send`` as the socket consumer calls it (``room=``, the socket's Room)
and as REST does (``room_slug=``), timed in CPU and counted in queries, on a throwaway SQLite database or
DATABASE_URL's. CPU time is what a fan-out run pays per message before any delivery: at 100 listeners, each
100 µs of it is 1 µs per delivery. ``--project DIR`` runs another checkout's code (before/after in turn,
same database server); ``--profile`` prints cProfile's heaviest functions of the socket path, in CPU time.

    .venv/bin/python -m bench.send_inprocess --repeat 2000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat_x .venv/bin/python -m bench.send_inprocess \
        --project /tmp/before
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from pathlib import Path
from typing import Any

from bench.rest_inprocess import setup_django


def _measure(send: Any, repeat: int) -> tuple[float, float]:
    """Median CPU ms per send, and the CPU ms per send over the whole loop (includes GC and outliers)."""
    cpu = []
    began = time.process_time()
    for n in range(repeat):
        one = time.process_time()
        send(n)
        cpu.append((time.process_time() - one) * 1000)
    return statistics.median(cpu), (time.process_time() - began) * 1000 / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1000)
    parser.add_argument("--project", default=str(Path(__file__).resolve().parents[1]), help="checkout to run")
    parser.add_argument("--profile", action="store_true", help="cProfile the socket path after timing it")
    parser.add_argument("--sort", default="cumulative", help="the profile's order: cumulative or tottime")
    args = parser.parse_args()
    setup_django(prefix="bench-send-", project=Path(args.project).resolve())
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging import services
    from messaging.models import Room
    from users.models import User

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username=f"sender{time.time_ns()}", password="bench-long-passphrase")  # noqa: S106
    room = Room.objects.get(slug="general")
    paths = {
        "socket (room=)": lambda n: services.message_send(sender=user, room=room, content=f"{n} " + "x" * 80),
        "REST (room_slug=)": lambda n: services.message_send(sender=user, room_slug="general", content=f"{n} x"),
    }
    print(f"{args.project} on {connection.vendor}, {args.repeat} sends per path")
    for name, send in paths.items():
        for n in range(50):  # warm-up: imports, caches, connections
            send(n)
        with CaptureQueriesContext(connection) as queries:
            send(0)
        median, mean = _measure(send, args.repeat)
        print(f"  {name}: {len(queries)} queries; CPU median {median:.3f} ms, mean {mean:.3f} ms per send")
    if args.profile:
        profile = cProfile.Profile(time.process_time)  # CPU, not wall: waits on the database left out
        profile.enable()
        for n in range(args.repeat):
            paths["socket (room=)"](n)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(40)
        print(out.getvalue())


if __name__ == "__main__":
    main()
