from django.urls import path, re_path

from messaging.views import files, messages, notifications, rooms, thumbnails

urlpatterns = [
    path("messages/", messages.MessageListView.as_view(), name="message-list"),
    path("messages/<int:message_id>/", messages.MessageDetailView.as_view(), name="message-detail"),
    path("rooms/", rooms.RoomListView.as_view(), name="room-list"),
    path("rooms/direct/", rooms.DirectRoomView.as_view(), name="room-direct"),
    path("rooms/<slug:slug>/", rooms.RoomDetailView.as_view(), name="room-detail"),
    path("rooms/<slug:slug>/members/", rooms.RoomMembersView.as_view(), name="room-members"),
    re_path(
        r"^rooms/(?P<slug>[-\w]+)/members/(?P<user_ref>me|\d+)/$",
        rooms.RoomMemberDetailView.as_view(),
        name="room-member-detail",
    ),
    path("rooms/<slug:slug>/read/", rooms.RoomReadView.as_view(), name="room-read"),
    path("notifications/", notifications.NotificationListView.as_view(), name="notification-list"),
    path("notifications/read/", notifications.NotificationReadView.as_view(), name="notification-read"),
    path("files/", files.FileUploadView.as_view(), name="file-list"),
    path("files/<int:file_id>/", files.FileDownloadView.as_view(), name="file-detail"),
    path("files/<int:file_id>/thumbnail/", thumbnails.ThumbnailView.as_view(), name="file-thumbnail"),
]
