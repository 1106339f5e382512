"""Uploaded files: checked completely before anything is written, stored under random names."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from messaging.models import Attachment
from messaging.services.errors import TooManyFiles
from messaging.sniffing import SNIFF_BYTES, name_for_type, sniff
from users.models import User

logger = logging.getLogger(__name__)

_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


class NoFiles(InvalidInput):
    """The request carries no file part (``file`` or ``files``)."""

    code = "no_file"
    default_detail = 'Send one or more files as multipart parts named "file" (or "files").'


class InvalidFileName(InvalidInput):
    """Nothing usable is left of the file's name once it is cleaned."""

    code = "invalid_name"
    default_detail = "The file needs a name."


class EmptyFile(InvalidInput):
    """The file has no content (0 bytes)."""

    code = "empty_file"
    default_detail = "The file is empty."


def clean_file_name(name: str | None) -> str:
    """A display name safe anywhere: no directories, control or reserved characters, ≤ 255 chars."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip(" .")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 16 else name[:255]
    if not name or set(name) <= {"_", "."}:
        raise InvalidFileName()
    return name


def _inspect(upload: UploadedFile[bytes]) -> tuple[str, str, str]:
    """Name (ending in the sniffed type's extension), sniffed content type and sha256 of an upload, or
    the error that refuses it."""
    if _size(upload) > settings.CHAT_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"{upload.name!r} is larger than {settings.CHAT_MAX_UPLOAD_BYTES} bytes.")
    name = clean_file_name(upload.name)
    if not upload.size:
        raise EmptyFile(f"{name!r} is empty.")
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    content_type = sniff(head)
    if content_type not in settings.CHAT_UPLOAD_ALLOWED_TYPES:
        raise UnsupportedMediaType(
            f"{name!r} looks like {content_type}, which is not accepted.",
            extra={"allowed": sorted(settings.CHAT_UPLOAD_ALLOWED_TYPES)},
        )
    # chunks() starts again from the first byte, so the sniffed head must not be hashed separately.
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return name_for_type(name, content_type), content_type, digest.hexdigest()


def _size(upload: UploadedFile[bytes]) -> int:
    # Every upload a request parsed has its size; Django types it optional for files built by hand.
    return upload.size or 0


def files_upload(*, uploader: User, uploads: list[UploadedFile[bytes]]) -> list[Attachment]:
    """Store uploads as attachments of ``uploader``, all or none: every file is checked first, and
    files already written are removed if a later one fails."""
    if not uploads:
        raise NoFiles()
    if len(uploads) > settings.CHAT_MAX_UPLOAD_FILES:
        raise TooManyFiles(f"At most {settings.CHAT_MAX_UPLOAD_FILES} files per request.")
    if sum(_size(upload) for upload in uploads) > settings.CHAT_MAX_UPLOAD_REQUEST_BYTES:
        raise PayloadTooLarge(f"The files add up to more than {settings.CHAT_MAX_UPLOAD_REQUEST_BYTES} bytes.")
    checked = [(upload, *_inspect(upload)) for upload in uploads]
    written: list[str] = []
    try:
        with transaction.atomic():
            attachments = []
            for upload, name, content_type, sha256 in checked:
                attachment = Attachment(
                    original_name=name, size=_size(upload), content_type=content_type, sha256=sha256, uploader=uploader
                )
                attachment.file.save("upload", upload, save=False)  # named by attachment_upload_to
                written.append(str(attachment.file.name))  # set by save()
                attachment.save()
                attachments.append(attachment)
    except BaseException:
        delete_stored_files(written)
        raise
    return attachments


def delete_stored_files(names: Iterable[str]) -> None:
    """Remove stored files, logging (not raising) what cannot be removed."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("Could not delete stored file %s", name, exc_info=True)


def attachment_files_delete_on_commit(attachments: Iterable[Attachment]) -> None:
    """Remove the attachments' files once the transaction deleting their rows commits."""
    names = [attachment.file.name for attachment in attachments if attachment.file and attachment.file.name]
    if names:
        transaction.on_commit(partial(delete_stored_files, names))
