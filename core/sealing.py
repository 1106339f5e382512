"""Secrets the server must read back (to sign with them) kept sealed at rest: Fernet (AES-128-CBC with an
HMAC-SHA256 tag, from ``cryptography``, already installed for PyJWT) under a key derived from
SECRET_KEY, so a copy of the database alone (a backup, a replica, a leaked dump) reveals none of them.

Keys follow Django's own rotation: values are sealed with SECRET_KEY and unsealed with it or any of
SECRET_KEY_FALLBACKS. A value no key opens (SECRET_KEY changed with no fallback) reads as ``""``, with a
warning, so the rows stay listable; the owner gives them a new secret.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

# Fernet's token for a 64-character secret is 184 characters of text; room to spare.
SEALED_LENGTH = 255


def _fernet(purpose: str, secret_key: str) -> Fernet:
    digest = salted_hmac(f"core.sealing.{purpose}", "fernet-key", secret=secret_key, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys(purpose: str) -> MultiFernet:
    secret_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(purpose, key) for key in secret_keys])


def seal(value: str, *, purpose: str) -> str:
    """``value`` sealed under the current SECRET_KEY, for ``purpose`` (each use its own derived key)."""
    return _keys(purpose).encrypt(value.encode("utf-8")).decode("ascii")


def unseal(sealed: str, *, purpose: str) -> str:
    """The value ``seal`` sealed, opened with SECRET_KEY or a fallback; InvalidToken if none opens it."""
    return _keys(purpose).decrypt(sealed.encode("ascii")).decode("utf-8")


if TYPE_CHECKING:
    _CharField = models.CharField[str, str]
else:  # django-stubs makes the field generic; Django's class is not subscriptable
    _CharField = models.CharField


class SealedCharField(_CharField):
    """Text stored sealed (``seal``) and read back in the clear; not searchable (each seal differs)."""

    def __init__(self, *args: Any, purpose: str = "", **kwargs: Any) -> None:
        self.purpose = purpose
        kwargs.setdefault("max_length", SEALED_LENGTH)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return seal(value, purpose=self.purpose) if value else value

    def from_db_value(self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper) -> str | None:
        if not value:
            return value
        try:
            return unseal(value, purpose=self.purpose)
        except InvalidToken:
            logger.warning("A sealed %s no key opens (SECRET_KEY changed without SECRET_KEY_FALLBACKS?)", self.purpose)
            return ""
