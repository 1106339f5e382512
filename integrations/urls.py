"""The integrations API's routes: webhooks under their room, subscriptions under their bot, and the
URL incoming webhooks post to (outside /api/v1/: its secret is its credential)."""

from django.urls import path

from core.routers import ApiRouter
from integrations.views import BotSubscriptionViewSet, RoomWebhookViewSet, WebhookPostView

router = ApiRouter()
router.register("rooms/<slug:slug>/webhooks", RoomWebhookViewSet, basename="room-webhook")
router.register("bots/<int:bot_id>/subscriptions", BotSubscriptionViewSet, basename="bot-subscription")

urlpatterns = router.urls

hook_urlpatterns = [
    path("hooks/<int:webhook_id>/<str:secret>/", WebhookPostView.as_view(), name="webhook-post"),
]
