"""The fence around ``realtime.wire``: the attributes it uses are looked up on the installed daphne,
autobahn and Twisted classes before any socket takes the fast path.

``wire`` writes prepared frames into autobahn's connection and reads Twisted's write buffer through
names neither project promises to keep: a rename would make a buffer look empty and interleave frames
under load, silently. ``fence()`` runs once per process (the first hub starts it) and logs the outcome:
on, with the versions; or off, with a warning naming what is missing. ``socket_path`` logs, once per
process, which path sockets actually take (a middleware wrapping ``send`` turns the fast path off too).
"""

from __future__ import annotations

import dis
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from types import CodeType
from typing import Any, Literal

try:
    from autobahn.websocket.protocol import PreparedMessage
    from daphne.server import Server as DaphneServer
    from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
    from twisted.internet.tcp import Server as TcpConnection
except ImportError:  # pragma: no cover
    WebSocketProtocol = None

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requirement:
    """An attribute ``wire`` uses. ``how``: ``class`` (defined on the class), ``instance`` (stored by a
    method of the class or its bases, or a class default), ``option`` (one of autobahn's
    protocol options, ``CONFIG_ATTRS``, copied onto each connection). ``use``: what stops without it."""

    owner: type
    name: str
    how: Literal["class", "instance", "option"]
    use: Literal["direct", "close"]

    def __str__(self) -> str:
        return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.name}"


def _requirements() -> tuple[Requirement, ...]:
    if WebSocketProtocol is None:  # pragma: no cover
        return ()
    ws, tcp = WebSocketProtocol, TcpConnection
    close: list[tuple[type, str, Literal["class", "instance", "option"]]] = [
        (DaphneServer, "handle_reply", "class"),  # daphne's ASGI send is partial(server.handle_reply, protocol)
        (ws, "state", "instance"),
        (ws, "STATE_OPEN", "class"),
        (ws, "sendCloseFrame", "class"),
        (ws, "closeHandshakeTimeout", "option"),
        (ws, "failByDrop", "option"),
    ]
    direct: list[tuple[type, str, Literal["class", "instance", "option"]]] = [
        (ws, "sendPreparedMessage", "class"),
        (ws, "send_queue", "instance"),  # frames autobahn holds back (a fragmented or synced send)
        (ws, "_perMessageCompress", "instance"),
        (ws, "transport", "instance"),
        (ws, "factory", "instance"),
        (WebSocketFactory, "prepareMessage", "class"),
        (PreparedMessage, "payloadHybi", "instance"),
        *((tcp, name, "class") for name in ("TLS", "connected", "disconnecting", "_writeDisconnected")),
        *((tcp, name, "class") for name in ("dataBuffer", "offset", "writeSomeData", "write")),
        (tcp, "_tempDataLen", "instance"),  # bytes written since the last flush to dataBuffer
    ]
    return tuple(
        [Requirement(owner, name, how, "close") for owner, name, how in close]
        + [Requirement(owner, name, how, "direct") for owner, name, how in direct]
    )


REQUIREMENTS = _requirements()


@cache
def _stored_by(cls: type) -> frozenset[str]:
    """Attribute names the methods of a class (not its bases) store, read from their bytecode."""
    found: set[str] = set()
    for value in vars(cls).values():
        code = getattr(getattr(value, "__func__", value), "__code__", None)
        if isinstance(code, CodeType):
            found |= _stores(code)
    return frozenset(found)


def _stores(code: CodeType) -> set[str]:
    found = {instruction.argval for instruction in dis.get_instructions(code) if instruction.opname == "STORE_ATTR"}
    for constant in code.co_consts:
        if isinstance(constant, CodeType):  # nested functions and comprehensions
            found |= _stores(constant)
    return found


def present(requirement: Requirement) -> bool:
    cls, name = requirement.owner, requirement.name
    if requirement.how == "option":
        return name in getattr(cls, "CONFIG_ATTRS", ())
    if hasattr(cls, name):
        return True
    return requirement.how == "instance" and any(name in _stored_by(base) for base in cls.__mro__[:-1])


@dataclass(frozen=True)
class FastPath:
    """What the fence allows: ``direct`` writes of prepared frames (and reading unsent bytes), ``closes``
    with registered codes by the connection (and a 1009 handshake instead of a reset)."""

    direct: bool
    closes: bool
    missing: tuple[str, ...]


def versions() -> str:
    found = []
    for package in ("daphne", "autobahn", "Twisted"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def check(requirements: Sequence[Requirement] = REQUIREMENTS) -> FastPath:
    """Look every requirement up on the installed classes."""
    missing = [r for r in requirements if not present(r)]
    closes = WebSocketProtocol is not None and not any(r.use == "close" for r in missing)
    return FastPath(direct=closes and not missing, closes=closes, missing=tuple(str(r) for r in missing))


_state: FastPath | None = None
_paths_logged: set[str] = set()


def fence(requirements: Sequence[Requirement] = REQUIREMENTS) -> FastPath:
    """Run ``check``, make its answer this process's, and log it (a warning when anything is off)."""
    global _state
    _state = result = check(requirements)
    _paths_logged.clear()
    if result.direct:
        logger.info("Fast path on: broadcasts are written directly to daphne connections (%s)", versions())
    else:
        off = "direct writes and closes" if not result.closes else "direct writes"
        logger.warning(
            "Fast path off (%s): not found in the installed %s: %s. Broadcasts go through ASGI send; "
            "slow readers are only bounded by each socket's queue.",
            off,
            versions(),
            ", ".join(result.missing) or "daphne",
        )
    return result


def fast_path() -> FastPath:
    """This process's fence answer (the fence runs on first use)."""
    return _state if _state is not None else fence()


def socket_path(protocol: Any | None) -> bool:
    """Whether broadcasts to a socket with this daphne ``protocol`` (None: its send is not daphne's)
    are written directly; the first socket on each path logs which one it is."""
    direct = protocol is not None and fast_path().direct
    if direct:
        path = "Sockets are on the fast path (direct writes to daphne connections)"
    elif protocol is not None:
        path = "Sockets take the ASGI path with a bounded queue each: the fast path is off"
    else:
        path = (
            "Sockets take the ASGI path with a bounded queue each: their send is not daphne's "
            "(another server, or a middleware wrapping send)"
        )
    if path not in _paths_logged:
        _paths_logged.add(path)
        logger.info(path)
    return direct
