"""The daphne entry point: the listen backlog it adds to daphne's TCP endpoints."""

from typing import Any

import pytest

from chatsite import serve
from core.env import ImproperlyConfiguredEnv


def test_tcp_endpoints_get_the_backlog_and_others_stay_as_daphne_builds_them():
    build = serve.endpoints_with_backlog(777)

    assert build(host="127.0.0.1", port=8000) == ["tcp:port=8000:interface=127.0.0.1:backlog=777"]
    assert build(unix_socket="/run/chat.sock") == ["unix:/run/chat.sock"]
    assert build(host="::1", port=8000) == [r"tcp:port=8000:interface=\:\:1:backlog=777"]


def test_the_backlog_defaults_to_1024(monkeypatch):
    monkeypatch.delenv("CHAT_LISTEN_BACKLOG", raising=False)

    assert serve.listen_backlog() == 1024


def test_the_backlog_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CHAT_LISTEN_BACKLOG", "4096")

    assert serve.listen_backlog() == 4096


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1.5"])
def test_a_bad_backlog_stops_start_up_with_a_clear_message(monkeypatch, value):
    monkeypatch.setenv("CHAT_LISTEN_BACKLOG", value)

    with pytest.raises(ImproperlyConfiguredEnv, match="CHAT_LISTEN_BACKLOG"):
        serve.listen_backlog()


class RecordingServer:
    """Stands in for daphne's Server: keeps what the command line built instead of listening."""

    built: dict = {}
    abort_start = False

    def __init__(self, **kwargs):
        RecordingServer.built = kwargs

    def run(self):
        pass


def test_main_hands_daphne_the_backlog_the_redacting_log_and_the_bounded_server(monkeypatch):
    from daphne import cli

    # main() replaces these module globals; monkeypatch puts the originals back after the test.
    monkeypatch.setattr(cli, "build_endpoint_description_strings", cli.build_endpoint_description_strings)
    monkeypatch.setattr(cli, "AccessLogGenerator", cli.AccessLogGenerator)
    # Standing in for chatsite.server.ChatServer, which main() gives daphne's command line to run.
    monkeypatch.setattr(serve, "ChatServer", RecordingServer)
    monkeypatch.setenv("CHAT_LISTEN_BACKLOG", "333")

    serve.main(["-b", "127.0.0.1", "-p", "8765", "--access-log", "-"])

    assert RecordingServer.built["endpoints"] == ["tcp:port=8765:interface=127.0.0.1:backlog=333"]
    assert isinstance(RecordingServer.built["action_logger"], serve.RedactingAccessLog)


def test_runserver_runs_the_bounded_server():
    from django.core.management import get_commands, load_command_class

    from chatsite.server import ChatServer

    app = get_commands()["runserver"]  # the first installed app that has the command wins

    command: Any = load_command_class(app, "runserver")

    assert command.server_cls is ChatServer
