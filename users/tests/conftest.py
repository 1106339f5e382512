"""The OpenID Connect provider fixtures (a JWKS served over HTTP, a fake clock for its cache), for every
test module of users/ that signs in with a provider's tokens."""

from users.tests.test_oidc import clock, jwks, provider  # noqa: F401  (fixtures, found here by name)
