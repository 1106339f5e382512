"""The messaging API's routes: one viewset per resource, registered on the app's router."""

from django.urls import register_converter

from core.routers import ApiRouter
from messaging.views.files import FileViewSet
from messaging.views.messages import MessageViewSet
from messaging.views.notifications import NotificationViewSet
from messaging.views.reports import ReportViewSet
from messaging.views.rooms import RoomViewSet


class MemberRefConverter:
    """A member in ``/rooms/{slug}/members/{user_ref}/``: a user id, or ``me``."""

    regex = r"me|\d+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


register_converter(MemberRefConverter, "member_ref")

router = ApiRouter()
router.register("messages", MessageViewSet, basename="message")
router.register("rooms", RoomViewSet, basename="room")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("files", FileViewSet, basename="file")
router.register("reports", ReportViewSet, basename="report")

urlpatterns = router.urls
