"""Named errors of the messaging services (each maps to one HTTP status and one socket error code)."""

from core.errors import Conflict, InvalidInput, PermissionDenied, RateLimited
from messaging import limits


class EmptyMessage(InvalidInput):
    """A message needs text or at least one attachment."""

    code = "empty"
    default_detail = "A message needs some text or an attachment."


class MessageTooLong(InvalidInput):
    """The text is over CHAT_MAX_MESSAGE_LENGTH characters."""

    code = "too_long"


class InvalidClientId(InvalidInput):
    """client_id must be a string of at most limits.CLIENT_ID characters."""

    code = "invalid_field"
    default_detail = f"client_id must be at most {limits.CLIENT_ID} characters."


class ClientIdReused(Conflict):
    """The same client_id was already used for a message with other content."""

    code = "client_id_conflict"
    default_detail = "This client_id was already used for a different message."


class UnknownAttachment(InvalidInput):
    """An attachment id is not one of the sender's unattached uploads."""

    code = "invalid_attachment"
    default_detail = "Attachments must be your own uploads, not yet attached to a message."


class NotAuthor(PermissionDenied):
    """Only the author (or an administrator) may change a message."""

    default_detail = "Only the author (or, to delete it, a moderator of the room) may change this message."


class NotRoomManager(PermissionDenied):
    """Only the room's owner or admins (or site administrators) may do this."""

    default_detail = "Only the room's owner or admins may do this."


class SendingTooFast(RateLimited):
    """The sender spent their CHAT_MESSAGE_RATE budget (REST and sockets together)."""

    default_detail = "You are sending messages too fast."


class NotifyingTooFast(RateLimited):
    """The sender spent their CHAT_NOTIFICATION_RATE budget (one unit per recipient)."""

    default_detail = "You are sending notifications too fast."


class SlugTaken(InvalidInput):
    """Another room already has this slug."""

    code = "slug_taken"
    default_detail = "A room with this slug already exists."


class InvalidRoom(InvalidInput):
    """The operation does not apply to this kind of room (e.g. members of a direct room)."""

    code = "invalid_room"
    default_detail = "This cannot be done in this kind of room."


class LastOwner(InvalidInput):
    """The last owner of a private room with other members must hand it over before leaving."""

    code = "last_owner"
    default_detail = "Hand the room over to another owner before leaving."


class TooManyFiles(InvalidInput):
    """More files in one upload request than CHAT_MAX_UPLOAD_FILES."""

    code = "too_many_files"
    default_detail = "Too many files in one request."


class InvalidRecipients(InvalidInput):
    """Some recipients are unknown or share no room with the sender; ``ids`` names them."""

    code = "invalid_recipients"
    default_detail = "Unknown recipients, or recipients who share no room with you."


class UserBanned(InvalidInput):
    """The user is banned from this room; lift the ban first."""

    code = "banned"
    default_detail = "This user is banned from this room; lift the ban first."
