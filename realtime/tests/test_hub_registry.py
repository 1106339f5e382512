"""The socket registry on its own."""

from realtime.hub.registry import SocketRegistry
from realtime.tests.fakes import FakeSocket


def test_the_first_and_last_socket_of_a_user_are_reported():
    registry = SocketRegistry()
    phone, laptop = FakeSocket(1, "notifications"), FakeSocket(1, "messages")

    assert registry.add(phone) is True
    assert registry.add(laptop) is False
    assert registry.remove(phone) is False
    assert registry.remove(laptop) is True
    assert registry.users == {}
    assert not registry.sockets


def test_removing_an_unknown_socket_changes_nothing():
    registry = SocketRegistry()
    registry.add(FakeSocket(1))

    assert registry.remove(FakeSocket(1)) is False
    assert len(registry.sockets) == 1


def test_sockets_are_found_by_user_and_kind():
    registry = SocketRegistry()
    notes, room, other = FakeSocket(1, "notifications"), FakeSocket(1, "messages"), FakeSocket(2, "notifications")
    for socket in (notes, room, other):
        registry.add(socket)

    assert registry.of_user(1) == {notes, room}
    assert registry.of_user(1, "notifications") == {notes}
    assert registry.of_user(3) == set()
    assert registry.of_kind("notifications") == {notes, other}
    assert registry.of_kind("all") == {notes, room, other}
    assert notes in registry
