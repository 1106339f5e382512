"""Bounds of the integrations app, read by its services and serializers."""

from __future__ import annotations

import re

WEBHOOK_NAME = 80
WEBHOOKS_PER_ROOM = 20
SUBSCRIPTIONS_PER_BOT = 20
ROOMS_PER_SUBSCRIPTION = 50
URL = 2000
COMMAND = 32
# A slash command is "/name" then optional arguments: lower-case letters, digits, "_" and "-".
COMMAND_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
COMMAND_LINE = re.compile(r"/([a-z0-9][a-z0-9_-]{0,31})(?:\s+(.*))?", re.DOTALL)
ERROR_TEXT = 500
