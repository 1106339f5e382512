"""The history page in-process: ``GET /api/v1/messages/?room=general&limit=50`` through Django's test
client (middleware, DRF, authentication, the selector and the JSON rendering; no HTTP server), timed
and profiled. A throwaway SQLite database (or DATABASE_URL's) with 50 messages; prints the median and
p90 of ``--repeat`` requests in ms (wall, and CPU time), then, with ``--profile``, cProfile's heaviest functions.

    .venv/bin/python -m bench.rest_inprocess --repeat 2000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path


def setup_django(*, prefix: str, project: Path) -> None:
    """Django as the in-process benches run it: a throwaway SQLite database unless DATABASE_URL names
    one, quiet logs, no message budget in the way; ``project``'s code first on the path."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'db.sqlite3'}")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "k" * 60)
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ.setdefault("CHAT_REQUEST_LOG", "0")
    os.environ.setdefault("CHAT_MESSAGE_RATE", "1000000/1s")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    sys.path.insert(0, str(project))
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--path", default="/api/v1/messages/?room=general&limit={limit}")
    parser.add_argument("--profile", action="store_true", help="cProfile the requests after timing them")
    args = parser.parse_args()
    setup_django(prefix="bench-inproc-", project=Path(__file__).resolve().parents[1])
    from django.core.management import call_command
    from django.test import Client
    from rest_framework_simplejwt.tokens import AccessToken

    from messaging import services
    from users.models import User

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username="bencher", password="bench-long-passphrase")  # noqa: S106
    for n in range(args.limit):
        services.message_send(sender=user, room_slug="general", content=f"seed **{n}** " + "x" * 80)
    access = str(AccessToken.for_user(user))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_HOST="localhost")
    path = args.path.format(limit=args.limit)
    for _ in range(50):  # warm-up: imports, caches, connections
        assert client.get(path).status_code == 200
    # Wall time, and the process's CPU time (less disturbed by other load on a shared machine).
    wall, cpu = [], []
    for _ in range(args.repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        client.get(path)
        cpu.append((time.process_time() - began_cpu) * 1000)
        wall.append((time.perf_counter() - began) * 1000)
    wall.sort()
    print(
        f"{path}: wall median {statistics.median(wall):.3f} ms, p90 {wall[int(len(wall) * 0.9)]:.3f} ms; "
        f"CPU median {statistics.median(cpu):.3f} ms ({args.repeat} requests)"
    )
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.repeat):
            client.get(path)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(35)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())


if __name__ == "__main__":
    main()
