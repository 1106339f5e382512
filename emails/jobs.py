"""The background job of missed-message emails."""

from __future__ import annotations

from datetime import datetime

from emails import services
from jobs import Backoff, job


# An SMTP server that is down is tried again for about an hour (1, 2, 4, 8, 16, 32 minutes).
@job(retry=Backoff(attempts=7, base=60, factor=2, cap=1920))
def send_missed_messages(*, user_id: int, window: str | None = None) -> None:
    """Send ``user_id`` the email of their window ending at ``window`` (ISO 8601), if anything in it is
    still unread."""
    services.missed_messages_send(user_id=user_id, window=datetime.fromisoformat(window) if window else None)
