"""Socket test fixtures: a fresh hub per test, and the general room; the end-to-end tests' processes."""

from realtime.tests.e2e_cluster import cluster, database_url, people, redis_server  # noqa: F401  (module-scoped)
from realtime.tests.sockets import _fresh_hub, general_room  # noqa: F401  (fixtures, found here by name)
