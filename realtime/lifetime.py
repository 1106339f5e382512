"""How long a socket lives on its token: closed with 4401 at the token's ``exp``, unless renewed in band
with ``{"type": "auth", "token": ...}`` (DESIGN.md "Socket lifetime"), answered ``auth_ok``.

A mixin of ``realtime.socketbase.ChatSocket``; back_chat's sockets (``compat``) may not expire at all
(``expires_with_token``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, cast

from channels.db import database_sync_to_async

from realtime import protocol
from realtime.kernel import closecodes
from realtime.middleware import USER_GONE, SocketAuthFailed, SocketLogin, authenticate_token

if TYPE_CHECKING:
    from users.models import User

logger = logging.getLogger(__name__)


class TokenLifetime:
    """The expiry timer and the ``auth`` frame of a socket (``ChatSocket`` provides the rest)."""

    kind: str
    user: User
    user_id: int
    token_expires_at: float | None
    token_id: int | None
    _expiry: asyncio.TimerHandle | None

    if TYPE_CHECKING:  # ChatSocket's, which comes first in its own MRO

        async def close(self, code: int | bool | None = None, reason: str | None = None) -> None: ...

        async def send_frame(self, frame: dict[str, object]) -> None: ...

    async def renew(self, command: protocol.Authenticate) -> None:
        """``{"type": "auth", "token": ...}``: the open socket now lives on this token (the same user's
        only, else 4401; a user gone meanwhile: 4403), and its expiry timer moves to the new ``exp``."""
        try:
            login = await _authenticate(command.token)
        except SocketAuthFailed as failure:
            await self.close(code=closecodes.USER_GONE if failure.code in USER_GONE else closecodes.TOKEN_INVALID)
            return
        if login.user.pk != self.user_id:
            logger.info("A %s socket of user %s was sent another user's token; closing it", self.kind, self.user_id)
            await self.close(code=closecodes.TOKEN_INVALID)
            return
        self.user = login.user
        self.token_expires_at = login.expires_at
        # The socket now answers to this token: its scopes (an API token's; None for a JWT) and its
        # revocation (CloseTokenSockets reaches sockets by token id).
        cast(Any, self).scope.update(token_id=login.token_id, token_scopes=login.scopes)  # the consumer's
        self.token_id = login.token_id
        self._close_when_token_expires()
        exp = int(login.expires_at) if login.expires_at is not None else None
        await self.send_frame(protocol.auth_ok(exp=exp))

    def expires_with_token(self) -> bool:
        """Whether the socket closes (4401) when its token expires unrenewed (back_chat's sockets may not)."""
        return True

    def _close_when_token_expires(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        expires_at = self.token_expires_at
        if expires_at is None or not self.expires_with_token():
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, expires_at - time.time())
        self._expiry = loop.call_later(delay, lambda: loop.create_task(self.close(code=closecodes.TOKEN_INVALID)))


@database_sync_to_async
def _authenticate(raw_token: str) -> SocketLogin:
    return authenticate_token(raw_token)
