"""Serve the project with daphne, the way `make run` and the Docker image do.

Two things daphne's own command line cannot be told: its access log writes request paths with their
query strings, and WebSocket clients put the access token in the query string; so this entry point
installs an access log that redacts tokens, then hands over to daphne's CLI unchanged.
"""

from __future__ import annotations

import sys

from daphne import cli
from daphne.access import AccessLogGenerator

from chatsite.log_filters import redact

APPLICATION = "chatsite.asgi:application"


class RedactingAccessLog(AccessLogGenerator):
    """daphne's NCSA-style access log with token values replaced by ``[redacted]``."""

    def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):  # type: ignore[no-untyped-def]
        super().write_entry(host, date, redact(request), status, length, ident, user)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(arg.endswith(":application") for arg in args):
        args.append(APPLICATION)
    cli.AccessLogGenerator = RedactingAccessLog  # daphne builds its logger from this module global
    cli.CommandLineInterface().run(args)


if __name__ == "__main__":
    main()
