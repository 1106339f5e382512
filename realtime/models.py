"""Tables of the database presence backend (used when there is no Redis)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PresenceProcess(models.Model):
    """A server process holding sockets, alive until ``expires_at`` unless its heartbeat renews it."""

    id = models.CharField(max_length=200, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.id


class PresenceConnection(models.Model):
    """One open socket, as ``<user_id>@<ip>:<port>``, held by ``process``."""

    process = models.ForeignKey(PresenceProcess, on_delete=models.CASCADE, related_name="connections")
    client = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    connected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["process", "client"], name="presence_unique_client")]
        indexes = [models.Index(fields=["user", "process"], name="presence_user_idx")]

    def __str__(self) -> str:
        return self.client
