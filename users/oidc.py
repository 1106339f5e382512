"""Sign-in with an OpenID Connect provider's access tokens (Keycloak, as back_chat used), beside our own.

A provider's user is mapped to a local user by (issuer, subject) only: a name the provider asserts
(``preferred_username``) merely suggests the local username of a *new* account, so no provider user can
take over a local account by calling itself after it. The provider's signing keys (JWKS) are cached in
the process and refetched once per TTL or for an unknown key id, never more often than a minimum
interval, so neither normal traffic nor a flood of bogus key ids reaches the provider per request.

The public API is :func:`oidc_authenticate`, called by REST (``users.authentication``) and the socket
middleware: it returns the local user with the verified claims (``exp``). It is synchronous, may do
network I/O on a cache miss, and uses the ORM: call it through ``database_sync_to_async`` from async code.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from core.errors import NotAuthenticated
from users.models import ExternalIdentity, User
from users.services import UsernameTaken, user_create

logger = logging.getLogger(__name__)

# Public-key algorithms only: "none" and HMAC (alg confusion with the public key) can never verify.
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
FETCH_TIMEOUT_SECONDS = 5.0
MAX_JWKS_BYTES = 1024 * 1024
MAX_TOKEN_CHARS = 16 * 1024
_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]+")
_USERNAME_MAX = 140  # User.username holds 150; leaves room for a "-NNN" suffix


class OidcAuthenticationFailed(NotAuthenticated):
    """A token addressed to our provider could not sign anyone in (401)."""


class OidcTokenInvalid(OidcAuthenticationFailed):
    """The provider's token is expired, forged, for another audience or otherwise unusable."""

    code = "token_not_valid"
    default_detail = "The identity provider's token is not valid."


class OidcUserInactive(OidcAuthenticationFailed):
    """The provider's user maps to a local user who was deactivated."""

    code = "user_inactive"
    default_detail = "This account is disabled."


class JwksUnavailable(Exception):
    """The provider's key set could not be fetched or parsed."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    ttl: float
    min_interval: float
    leeway: float
    algorithms: frozenset[str]
    accept_azp: bool = False  # a token whose ``azp`` is ``audience`` passes when ``aud`` does not name it


@dataclass(frozen=True)
class SigningKey:
    """A provider's public key, and the algorithm its JWK pins it to (None: any allowed RSA one)."""

    key: Any
    alg: str | None


@dataclass(frozen=True)
class OidcLogin:
    """A verified provider token: the local user and the token's claims (``exp`` bounds a socket).

    It reads like simplejwt's tokens (``payload``, ``login["exp"]``, ``get``), as ``request.auth`` does.
    """

    user: User
    claims: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        return self.claims

    def __getitem__(self, name: str) -> Any:
        return self.claims[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.claims.get(name, default)


def oidc_config() -> OidcConfig | None:
    """The provider settings, or None when OIDC is off (issuer, audience or JWKS URL empty)."""
    issuer = settings.CHAT_OIDC_ISSUER
    audience = settings.CHAT_OIDC_AUDIENCE
    jwks_url = settings.CHAT_OIDC_JWKS_URL
    if not (issuer and audience and jwks_url):
        return None
    return OidcConfig(
        issuer=issuer,
        audience=audience,
        jwks_url=jwks_url,
        ttl=float(settings.CHAT_OIDC_JWKS_TTL),
        min_interval=float(settings.CHAT_OIDC_JWKS_MIN_INTERVAL),
        leeway=float(settings.CHAT_OIDC_LEEWAY),
        algorithms=frozenset(settings.CHAT_OIDC_ALGORITHMS) & RSA_ALGORITHMS,
        accept_azp=settings.CHAT_OIDC_ACCEPT_AZP,
    )


def fetch_jwks(url: str, *, timeout: float = FETCH_TIMEOUT_SECONDS) -> dict[str, SigningKey]:
    """Download a JWKS document and return its usable signing keys by ``kid``."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise JwksUnavailable(f"JWKS URL must be http(s): {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            body = response.read(MAX_JWKS_BYTES + 1)
        if len(body) > MAX_JWKS_BYTES:
            raise JwksUnavailable("JWKS document is too large")
        document = json.loads(body)
    except (OSError, ValueError) as exc:  # URLError, timeouts and HTTP errors are OSErrors
        raise JwksUnavailable(str(exc)) from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksUnavailable("JWKS document has no 'keys' list")
    return _signing_keys(keys)


def _signing_keys(keys: list[Any]) -> dict[str, SigningKey]:
    """The RSA signature keys of a JWKS; others (encryption, EC, symmetric) are skipped, not fatal."""
    usable: dict[str, SigningKey] = {}
    for data in keys:
        if not isinstance(data, dict) or not isinstance(data.get("kid"), str):
            continue
        if data.get("kty") != "RSA" or data.get("use", "sig") != "sig":
            continue
        alg = data.get("alg")
        try:
            usable[data["kid"]] = SigningKey(key=jwt.PyJWK(data, algorithm="RS256").key, alg=alg)
        except jwt.PyJWTError:
            logger.warning("Skipping an unusable key %r in the OIDC key set", data["kid"])
    return usable


class JwksCache:
    """The provider's signing keys, shared by the process's threads, refetched on the rules above.

    A refetch happens when the keys are older than the TTL or a token names an unknown ``kid``, and
    at most once per ``min_interval`` (failed attempts count), so a flood of bogus ids or a provider
    outage costs one request per interval. When a refetch fails, the previous keys stay in use.
    """

    def __init__(
        self,
        *,
        fetch: Callable[[str], dict[str, SigningKey]] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        # Held across the fetch on purpose: concurrent misses wait for one download instead of each doing one.
        self._lock = threading.Lock()
        self._url: str | None = None
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None

    def key(self, *, url: str, kid: str, ttl: float, min_interval: float) -> SigningKey:
        """The key named ``kid``; raise OidcTokenInvalid when it is unknown or keys are unavailable."""
        with self._lock:
            if url != self._url:
                self._url, self._keys, self._fetched_at, self._attempted_at = url, {}, None, None
            now = self._clock()
            expired = self._fetched_at is None or now - self._fetched_at >= ttl
            may_fetch = self._attempted_at is None or now - self._attempted_at >= min_interval
            if (expired or kid not in self._keys) and may_fetch:
                self._refresh(url, now)
            key = self._keys.get(kid)
            ever_fetched = self._fetched_at is not None
        if key is None:
            if not ever_fetched:
                raise OidcTokenInvalid("The identity provider's signing keys are unavailable.")
            raise OidcTokenInvalid("The token was signed with an unknown key.")
        return key

    def _refresh(self, url: str, now: float) -> None:
        self._attempted_at = now
        try:
            keys = self._fetch(url)
        except JwksUnavailable as exc:
            logger.warning("Could not fetch the OIDC signing keys from %s: %s", url, exc)
            return
        self._keys, self._fetched_at = keys, now


_jwks_cache = JwksCache()


def reset_jwks_cache(*, clock: Callable[[], float] = time.monotonic) -> None:
    """Forget the cached keys (tests, or after changing the provider settings at runtime)."""
    global _jwks_cache
    _jwks_cache = JwksCache(clock=clock)


def oidc_authenticate(raw_token: str) -> OidcLogin | None:
    """The active local user for a provider access token with its verified claims, or None if the
    token is not the provider's.

    None means "not ours" (OIDC off, not a JWT, another issuer): the caller tries our own tokens next.
    A token whose unverified ``iss`` is our provider's must verify, or OidcTokenInvalid is raised;
    a deactivated local user raises OidcUserInactive.
    """
    config = oidc_config()
    if config is None:
        return None
    header = _peek_header(raw_token, issuer=config.issuer)
    if header is None:
        return None
    claims = _verify(raw_token, header=header, config=config)
    user = _local_user(issuer=config.issuer, claims=claims)
    if not user.is_active:
        raise OidcUserInactive()
    return OidcLogin(user=user, claims=claims)


def _peek_header(raw_token: str, *, issuer: str) -> dict[str, Any] | None:
    """The unverified header when the unverified ``iss`` is our provider's; None for anyone else's token."""
    if len(raw_token) > MAX_TOKEN_CHARS:
        return None
    try:
        header = jwt.get_unverified_header(raw_token)
        claims = jwt.decode(raw_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    # Deciding by issuer, not by alg, keeps an "alg": "none" or HS256 forgery for our issuer from
    # slipping past as "not ours": it is refused here with a precise error.
    return header if claims.get("iss") == issuer else None


def _verify(raw_token: str, *, header: dict[str, Any], config: OidcConfig) -> dict[str, Any]:
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in config.algorithms:
        raise OidcTokenInvalid("The token's signing algorithm is not allowed.")
    if not isinstance(kid, str) or not kid:
        raise OidcTokenInvalid("The token names no signing key.")
    key = _jwks_cache.key(url=config.jwks_url, kid=kid, ttl=config.ttl, min_interval=config.min_interval)
    if key.alg is not None and key.alg != alg:
        raise OidcTokenInvalid("The token's algorithm does not match its key.")
    try:
        claims: dict[str, Any] = jwt.decode(
            raw_token,
            key.key,
            algorithms=[alg],
            issuer=config.issuer,
            leeway=config.leeway,
            # The audience is checked below, where ``azp`` may stand in for it.
            options={"require": ["exp", "iss", "aud", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise OidcTokenInvalid("The token has expired.") from None
    except jwt.PyJWTError:
        raise OidcTokenInvalid() from None
    _check_audience(claims, config=config)
    return _checked_claims(claims)


def _check_audience(claims: dict[str, Any], *, config: OidcConfig) -> None:
    """``aud`` (a string or a list of strings) names our client id; or, with CHAT_OIDC_ACCEPT_AZP,
    ``azp`` is our client id: Keycloak issues a client's access tokens with its id in ``azp`` (the
    authorized party) and names it in ``aud`` only when the realm has an Audience mapper."""
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not all(isinstance(item, str) for item in audiences):
        raise OidcTokenInvalid("The token's audience is malformed.")
    if config.audience in audiences:
        return
    if config.accept_azp and claims.get("azp") == config.audience:
        return
    raise OidcTokenInvalid()


def _checked_claims(claims: dict[str, Any]) -> dict[str, Any]:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
        raise OidcTokenInvalid("The token has no usable subject.")
    # Keycloak marks ID and refresh tokens in "typ"; only access tokens ("Bearer") authorise API calls.
    token_type = claims.get("typ")
    if token_type is not None and str(token_type).lower() != "bearer":
        raise OidcTokenInvalid("The token is not an access token.")
    return claims


def _local_user(*, issuer: str, claims: dict[str, Any]) -> User:
    """The user linked to (issuer, sub), created on first sight; safe against concurrent first sign-ins."""
    subject = claims["sub"]
    for _attempt in range(3):
        identity = _find_identity(issuer=issuer, subject=subject)
        if identity is not None:
            return identity.user
        try:
            return _create_local_user(issuer=issuer, subject=subject, claims=claims)
        except (IntegrityError, UsernameTaken):
            # Another request created this identity, or took the username we picked: look again.
            continue
    raise OidcAuthenticationFailed("Could not create a local account for this identity; try again.")


def _find_identity(*, issuer: str, subject: str) -> ExternalIdentity | None:
    return ExternalIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()


def _create_local_user(*, issuer: str, subject: str, claims: dict[str, Any]) -> User:
    with transaction.atomic():
        user = user_create(
            username=_free_username(_username_base(claims)),
            password=None,
            email=_email(claims),
            display_name=_display_name(claims),
        )
        ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    logger.info("Created local user %s for OIDC subject %s", user.pk, subject)
    return user


def _username_base(claims: dict[str, Any]) -> str:
    """A valid username suggested by the provider: preferred_username, else the e-mail's local part."""
    for suggestion in (claims.get("preferred_username"), str(claims.get("email") or "").partition("@")[0]):
        if isinstance(suggestion, str):
            base = _USERNAME_UNSAFE.sub("-", suggestion.strip()).strip("-.")[:_USERNAME_MAX]
            if base:
                return base
    return "user"


def _free_username(base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever no user has yet (compared case-insensitively)."""
    taken = {
        name.lower() for name in User.objects.filter(username__istartswith=base).values_list("username", flat=True)
    }
    candidate, number = base, 2
    while candidate.lower() in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def _email(claims: dict[str, Any]) -> str:
    """The provider's e-mail when it looks valid and the provider does not say it is unverified."""
    email = claims.get("email")
    if not isinstance(email, str) or len(email) > 254 or claims.get("email_verified") is False:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email


def _display_name(claims: dict[str, Any]) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(part for part in parts if isinstance(part, str) and part.strip())
    return name.strip()[:150].strip()
