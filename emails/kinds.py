"""Which notifications may turn into a missed-message email, and how the email names each.

To email a new kind, add it here: notify_message_recipients
already hands every kind it notifies to ``emails.services.missed_messages_note``, which keeps these.
"""

from __future__ import annotations

from messaging.models import Notification

EMAIL_KINDS: dict[str, str] = {
    Notification.Kind.MENTION: "mentioned you",
    Notification.Kind.DIRECT_MESSAGE: "direct message",
    Notification.Kind.FILE_SHARED: "shared a file with you",
    Notification.Kind.THREAD_REPLY: "replied in a thread you follow",
}
