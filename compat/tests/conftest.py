"""Socket test fixtures: a fresh hub per test, and the general room; an OpenID Connect provider's keys."""

from realtime.tests.sockets import _fresh_hub, general_room  # noqa: F401  (fixtures, found here by name)
from users.tests.test_oidc import clock, jwks  # noqa: F401  (fixtures, found here by name)
