"""WebSocket close codes of the protocol (DESIGN.md), named once for services and consumers alike."""

TOKEN_INVALID = 4401  # missing, invalid or expired token (also when it expires on an open socket)
USER_GONE = 4403  # the user was deactivated or deleted
ROOM_UNREADABLE = 4404  # the room is unknown or no longer readable
TOO_MANY_SOCKETS = 4409  # the user (CHAT_MAX_SOCKETS_PER_USER) or address (..._PER_IP) has enough sockets open
FLOODING = 4429  # the client kept sending while rate-limited
TOO_SLOW = 1013  # "try again later": the client fell too far behind; reconnect with last_seq
SERVER_ERROR = 1011  # the server failed opening or serving the socket; reconnect with backoff and last_seq
# 1011 and 1013 are registered codes that daphne's ASGI close refuses (it allows 1000 and 3000-4999):
# the consumer sends them as a close frame itself (realtime.wire.send_close).
