"""Test factories for rooms, messages and uploads."""

from __future__ import annotations

import io
import itertools

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from messaging.models import Membership, Message, Notification, Room
from messaging.services import message_send
from users.models import User

_numbers = itertools.count(1)

# A valid 1x1 PNG (half-transparent red) as Pillow writes it: no metadata, so stored as uploaded.
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xd0\x00\x00\x04\x81\x01\x80,U\xce\xb0\x00\x00\x00\x00IEND\xaeB`\x82"
)


def general() -> Room:
    """The default room (recreated after a transactional test's flush removed the migration's row)."""
    room, _ = Room.objects.get_or_create(slug="general", defaults={"name": "General", "kind": Room.Kind.PUBLIC})
    return room


def make_room(
    *, kind: str = Room.Kind.PUBLIC, members: tuple[User, ...] = (), slug: str | None = None, **fields
) -> Room:
    number = next(_numbers)
    room = Room.objects.create(
        slug=slug or f"room-{number}", name=fields.pop("name", f"Room {number}"), kind=kind, **fields
    )
    for index, user in enumerate(members):
        Membership.objects.create(
            room=room, user=user, role=Membership.Role.OWNER if index == 0 else Membership.Role.MEMBER
        )
    return room


def send(sender: User, content: str = "hello", *, room: Room | None = None, **kwargs) -> Message:
    return message_send(sender=sender, content=content, room=room or general(), **kwargs).message


def png(name: str = "pixel.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


def text_file(name: str = "notes.txt", content: bytes = b"plain text\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")


def big_file(size: int, name: str = "big.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"a" * size, content_type="text/plain")


def stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def make_notification(recipient: User, title: str | None = None, *, read: bool = False, **fields) -> Notification:
    return Notification.objects.create(
        recipient=recipient,
        kind=fields.pop("kind", Notification.Kind.USER),
        title=title or f"Notification {next(_numbers)}",
        read_at=timezone.now() if read else None,
        **fields,
    )


def multipart(parts: list[tuple[str, str, bytes]], *, boundary: str = "BoUnDaRy") -> tuple[bytes, str]:
    """A raw multipart body of file parts ``(field, filename, content)`` sent exactly as given (the test
    client would strip directories from file names), and its content type."""
    body = b""
    for field, filename, content in parts:
        body += (
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
