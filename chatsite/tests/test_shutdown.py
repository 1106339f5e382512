"""GracefulShutdown's decisions, with a fake reactor and fake connections (the real process is driven by
realtime/tests/test_e2e_shutdown.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chatsite import serve, shutdown
from chatsite.shutdown import GracefulShutdown


class FakeReactor:
    def __init__(self) -> None:
        self.running = True
        self.stopped = 0
        self.later: list[tuple[float, Any]] = []

    def callFromThread(self, function: Any, *args: Any) -> None:
        function(*args)

    def callLater(self, delay: float, function: Any) -> None:
        self.later.append((delay, function))

    def stop(self) -> None:
        self.stopped += 1
        self.running = False

    def tick(self) -> None:
        _delay, function = self.later.pop(0)
        function()


class FakePort:
    def __init__(self) -> None:
        self.listening = True

    def stopListening(self) -> None:
        self.listening = False


class FakeServer:
    def __init__(self) -> None:
        self.connections: dict[Any, dict[str, Any]] = {}


class Instance:
    """An application instance (daphne keeps an asyncio future): only ``done()`` is read."""

    def __init__(self, done: bool) -> None:
        self._done = done

    def done(self) -> bool:
        return self._done


def done_future(done: bool) -> Instance:
    return Instance(done)


@pytest.fixture
def parts():
    server, reactor, port = FakeServer(), FakeReactor(), FakePort()
    exits: list[int] = []
    graceful = GracefulShutdown(server, reactor, timeout=10, listening=lambda: [port], exit_process=exits.append)
    yield graceful, server, reactor, port, exits
    graceful.cancel_watchdog()


def test_a_signal_stops_listening_and_stops_at_once_when_nothing_is_in_flight(parts):
    graceful, server, reactor, port, _exits = parts
    server.connections["finished request"] = {"disconnected": 1.0, "application_instance": done_future(True)}

    graceful.signalled(15)

    assert graceful.draining
    assert port.listening is False
    assert reactor.stopped == 1


def test_it_waits_for_requests_in_flight_and_consumers_cleaning_up(parts):
    graceful, server, reactor, _port, _exits = parts
    request: dict[str, Any] = {"application_instance": done_future(False)}  # being answered
    cleaning = {"disconnected": 1.0, "application_instance": done_future(False)}  # socket gone, consumer not
    server.connections.update({"request": request, "consumer": cleaning})

    graceful.begin(15)
    assert reactor.stopped == 0
    assert graceful.busy() == ["request", "consumer"]

    request["disconnected"], request["application_instance"] = 2.0, done_future(True)
    cleaning["application_instance"] = done_future(True)
    reactor.tick()

    assert reactor.stopped == 1


def test_the_drain_ends_when_its_budget_is_spent(parts, monkeypatch):
    graceful, server, reactor, _port, _exits = parts
    server.connections["stuck"] = {"application_instance": done_future(False)}
    graceful.begin(15)
    assert reactor.stopped == 0

    later = time.monotonic() + 10 - shutdown.EXIT_MARGIN_SECONDS
    monkeypatch.setattr(shutdown.time, "monotonic", lambda: later)
    reactor.tick()

    assert reactor.stopped == 1


def test_a_second_signal_stops_at_once(parts):
    graceful, server, reactor, _port, _exits = parts
    server.connections["stuck"] = {"application_instance": done_future(False)}
    graceful.begin(15)

    graceful.begin(2)

    assert reactor.stopped == 1


def test_the_watchdog_ends_the_process_at_the_timeout(parts):
    _graceful, server, reactor, _port, exits = parts
    graceful = GracefulShutdown(server, reactor, timeout=0.1, listening=list, exit_process=exits.append)
    server.connections["stuck"] = {"application_instance": done_future(False)}

    graceful.begin(15)
    time.sleep(0.3)

    assert exits == [1]


def test_exit_now_ends_the_process_without_the_watchdog(parts):
    graceful, _server, _reactor, _port, exits = parts
    graceful.begin(15)

    graceful.exit_now()

    assert exits == [0]
    assert graceful._watchdog is not None
    assert not graceful._watchdog.is_alive() or graceful._watchdog.finished.is_set()


class StoppedServer:
    """Stands in for ChatServer after a graceful shutdown."""

    abort_start = False
    shutdown: Any = None

    def __init__(self, **kwargs: Any) -> None:
        pass

    def run(self) -> None:
        pass


def test_serve_exits_at_once_after_a_graceful_shutdown_only(monkeypatch):
    from daphne import cli

    monkeypatch.setattr(cli, "build_endpoint_description_strings", cli.build_endpoint_description_strings)
    monkeypatch.setattr(cli, "AccessLogGenerator", cli.AccessLogGenerator)
    monkeypatch.setattr(serve, "ChatServer", StoppedServer)
    exits: list[int] = []

    serve.main(["-b", "127.0.0.1", "-p", "8765"])  # stopped without a signal: returns
    StoppedServer.shutdown = GracefulShutdown(StoppedServer, FakeReactor(), timeout=5, listening=list,
                                              exit_process=exits.append)  # fmt: skip
    StoppedServer.shutdown.started_at = time.monotonic()
    serve.main(["-b", "127.0.0.1", "-p", "8765"])

    assert exits == [0]
