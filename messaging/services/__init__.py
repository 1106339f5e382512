"""Writes of the messaging domain; REST views, consumers, the admin and commands all call these."""

from messaging.services.files import files_upload
from messaging.services.messages import SendResult, message_delete, message_edit, message_send
from messaging.services.notifications import notification_send, notifications_mark_read
from messaging.services.pins import message_pin
from messaging.services.purge import messages_purge
from messaging.services.reactions import reaction_set
from messaging.services.room_manage import room_check_writable, room_delete, room_set_role, room_update
from messaging.services.rooms import (
    direct_room_get_or_create,
    direct_room_with,
    membership_update,
    room_add_member,
    room_create,
    room_join,
    room_mark_read,
    room_remove_member,
)
from messaging.services.threads import thread_follow

__all__ = [
    "SendResult",
    "direct_room_get_or_create",
    "direct_room_with",
    "files_upload",
    "membership_update",
    "message_delete",
    "message_edit",
    "message_pin",
    "message_send",
    "messages_purge",
    "notification_send",
    "notifications_mark_read",
    "reaction_set",
    "room_add_member",
    "room_check_writable",
    "room_create",
    "room_delete",
    "room_join",
    "room_mark_read",
    "room_remove_member",
    "room_set_role",
    "room_update",
    "thread_follow",
]
