"""Named errors of the integrations domain (each maps to one HTTP status and one code)."""

from core.errors import InvalidField, NotFound, PermissionDenied, RateLimited


class WebhookNotFound(NotFound):
    """No webhook with this id and secret (a wrong secret is not told apart from a missing webhook)."""

    default_detail = "Webhook not found."


class NotRoomWriter(PermissionDenied):
    """Only those who may write a room may see or add its webhooks."""

    default_detail = "Only people who may write in this room may manage its webhooks."


class NotWebhookManager(PermissionDenied):
    """Only the webhook's creator, the room's owners and moderators, and admins may change it."""

    default_detail = "Only the webhook's creator, the room's owners and moderators, or an admin may change it."


class WebhookTooFast(RateLimited):
    """The webhook posts faster than CHAT_WEBHOOK_RATE."""

    default_detail = "This webhook posts too fast."


class InvalidPayload(InvalidField):
    """The body of a webhook call is not ``{"text": "..."}`` or ``{"content": "..."}``."""

    code = "invalid_payload"
    default_detail = 'The body must be a JSON object with a string "text" (Slack\'s shape) or "content".'


class SubscriptionNotFound(NotFound):
    """No such subscription of this bot."""

    default_detail = "Subscription not found."
