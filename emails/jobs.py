"""The background job of missed-message emails."""

from __future__ import annotations

from emails import services
from jobs import Backoff, job


# An SMTP server that is down is tried again for about an hour (1, 2, 4, 8, 16, 32 minutes).
@job(retry=Backoff(attempts=7, base=60, factor=2, cap=1920))
def send_missed_messages(*, user_id: int) -> None:
    """Send ``user_id`` the email of their window that just ended (if anything is still unread)."""
    services.missed_messages_send(user_id=user_id)
