"""Domain signals of users, for the apps that users does not import (messaging, integrations)."""

from django.dispatch import Signal

# Sent by every service that deletes a user (users.services.user_delete, users.api_tokens.bot_delete),
# inside its transaction and before the row goes: ``user``. Receivers undo what the cascade alone would
# leave wrong (messaging rewrites the reaction totals of the messages the user reacted to), in the same
# transaction, so a failing receiver rolls the deletion back.
user_deleting = Signal()
