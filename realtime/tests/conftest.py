"""Socket test fixtures: a fresh hub per test, and the general room."""

from realtime.tests.sockets import _fresh_hub, general_room  # noqa: F401  (fixtures, found here by name)
