"""Serve the project with daphne, the way `make run` and the Docker image do.

Three things daphne's own command line cannot be told. It serves HTTP with Twisted's defaults, which
read and parse request bodies of any size in memory and let a slow client hold a connection by sending
a header line now and then; so the server it runs is ``chatsite.server.ChatServer``, which bounds
bodies and request headers (the reasons are in that module). Its access log writes request paths with their
query strings, and WebSocket clients put the access token in the query string; so this entry point
installs an access log that redacts tokens. And it listens with Twisted's default backlog of 50
pending connections: when more clients connect at once (every client of a restarted replica
reconnecting), the kernel drops their SYNs and they retry a second later; so the TCP endpoints that
``-b``/``-p`` describe get ``CHAT_LISTEN_BACKLOG`` (default 1024, capped by the kernel's somaxconn).
Then it hands over to daphne's CLI unchanged. (``manage.py runserver`` gets the same server from
chatsite/management/commands/runserver.py.) With CHAT_JOBS_WORKER=embedded (the default) it also runs
one background-job worker beside the server, and stops it on exit (jobs/supervisor.py). With
PROMETHEUS_MULTIPROC_DIR set, it removes the metric files of processes that are gone before it starts,
and marks itself dead when it stops (README "Metrics"). On SIGTERM it shuts down gracefully
(chatsite/shutdown.py) and then exits at once, without the interpreter's final cleanup.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from daphne import cli
from daphne.access import AccessLogGenerator
from daphne.endpoints import build_endpoint_description_strings

from chatsite.handshake_log import format_only_when_debugging
from chatsite.server import ChatServer
from core import metrics
from core.env import env_int
from core.log_filters import redact
from jobs.supervisor import start_embedded_worker

APPLICATION = "chatsite.asgi:application"
DEFAULT_BACKLOG = 1024


class RedactingAccessLog(AccessLogGenerator):
    """daphne's NCSA-style access log with token values replaced by ``[redacted]``."""

    def write_entry(
        self,
        host: str,
        date: str,
        request: str,
        status: int | None = None,
        length: int | None = None,
        ident: str | None = None,
        user: str | None = None,
    ) -> None:
        super().write_entry(host, date, redact(request), status, length, ident, user)


def listen_backlog() -> int:
    """``CHAT_LISTEN_BACKLOG``, read here rather than in settings: daphne listens before Django is set up."""
    return env_int("CHAT_LISTEN_BACKLOG", DEFAULT_BACKLOG, minimum=1)


def endpoints_with_backlog(backlog: int) -> Callable[..., list[str]]:
    """daphne's endpoint builder, with ``backlog`` on the TCP endpoints it describes."""

    def build(*args: Any, **kwargs: Any) -> list[str]:
        descriptions = build_endpoint_description_strings(*args, **kwargs)
        return [f"{d}:backlog={backlog}" if d.startswith("tcp:") else d for d in descriptions]

    return build


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(arg.endswith(":application") for arg in args):
        args.append(APPLICATION)
    # daphne's cli module builds its logger and its endpoints from these module globals.
    cli.AccessLogGenerator = RedactingAccessLog
    cli.build_endpoint_description_strings = endpoints_with_backlog(listen_backlog())
    interface = cli.CommandLineInterface()
    interface.server_class = ChatServer
    format_only_when_debugging()
    metrics.prepare_directory()
    worker = start_embedded_worker()
    try:
        interface.run(args)
    finally:
        metrics.mark_dead(os.getpid())
        if worker is not None:
            worker.stop()
    shutdown = getattr(interface.server, "shutdown", None)
    if shutdown is not None and shutdown.draining:
        shutdown.exit_now()


if __name__ == "__main__":
    main()
