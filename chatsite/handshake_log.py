"""autobahn, under daphne, formats its whole configuration (about forty options) with ``pprint`` on every
new WebSocket connection, for one debug line that txaio drops unless it logs at debug level: 10-14 % of
the server's CPU in a connect storm (``python -m bench.run --scenario connect --profile``, README
"Connect storms"). ``format_only_when_debugging`` makes autobahn's ``pformat`` format only when that line
can be written; with debug logging on, the line is as before.
"""

from __future__ import annotations

from pprint import pformat
from typing import Any

VERBOSE = frozenset({"debug", "trace"})


def format_only_when_debugging() -> None:
    """Replace ``autobahn.websocket.protocol.pformat`` (idempotent)."""
    from autobahn.websocket import protocol
    from daphne.ws_protocol import WebSocketProtocol

    if protocol.pformat is not pformat:
        return  # replaced already
    logger = WebSocketProtocol.log  # the txaio logger of daphne's sockets (autobahn's, by inheritance)

    def pformat_when_debugging(obj: object, *args: Any, **kwargs: Any) -> str:
        if getattr(logger, "_log_level", "debug") in VERBOSE:
            return pformat(obj, *args, **kwargs)
        return "(not formatted: debug logging is off)"

    protocol.pformat = pformat_when_debugging  # type: ignore[assignment]  # takes what pformat takes
