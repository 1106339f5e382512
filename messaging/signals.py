"""Domain signals of messaging, for apps that messaging does not import (integrations)."""

from django.dispatch import Signal

# Sent inside the storing transaction of every new message: ``message`` (sender and room loaded), ``room``.
message_stored = Signal()
