"""Uploaded files: checked completely before anything is written, stored under random names, images
without their metadata and with a thumbnail."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO, cast

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from messaging.metadata import STRIPPED_TYPES, Malformed, strip_metadata
from messaging.models import Attachment
from messaging.services.errors import TooManyFiles
from messaging.sniffing import SNIFF_BYTES, name_for_type, sniff, type_matches
from messaging.thumbnails import thumbnail_make
from users.models import User

logger = logging.getLogger(__name__)

_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_CHUNK = 64 * 1024


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


def _inspect(upload: UploadedFile[bytes]) -> tuple[str, str]:
    """Name (ending in the sniffed type's extension) and sniffed content type of an upload, or the error
    that refuses it."""
    if _size(upload) > settings.CHAT_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"{upload.name!r} is larger than {settings.CHAT_MAX_UPLOAD_BYTES} bytes.")
    name = clean_file_name(upload.name)
    if not upload.size:
        raise EmptyFile(f"{name!r} is empty.")
    upload.seek(0)
    content_type = sniff(upload.read(SNIFF_BYTES))
    upload.seek(0)
    if not type_accepted(content_type):
        raise UnsupportedMediaType(
            f"{name!r} looks like {content_type}, which is not accepted.",
            extra={"allowed": settings.CHAT_UPLOAD_ALLOWED_TYPES, "denied": settings.CHAT_UPLOAD_DENIED_TYPES},
        )
    return name_for_type(name, content_type), content_type


def type_accepted(content_type: str) -> bool:
    """Allowed by CHAT_UPLOAD_ALLOWED_TYPES and not denied by CHAT_UPLOAD_DENIED_TYPES."""
    return type_matches(content_type, settings.CHAT_UPLOAD_ALLOWED_TYPES) and not type_matches(
        content_type, settings.CHAT_UPLOAD_DENIED_TYPES
    )


@dataclass(frozen=True)
class _Prepared:
    """What is stored for one upload: its bytes (without metadata where the type allows), their size
    and sha256, and a thumbnail."""

    content: BinaryIO
    size: int
    sha256: str
    thumbnail: bytes | None


def _prepare(upload: UploadedFile[bytes], name: str, content_type: str, files: ExitStack) -> _Prepared:
    content = _binary(upload)
    if content_type in STRIPPED_TYPES:
        content = _without_metadata(upload, name, content_type, files)
    digest, size = hashlib.sha256(), 0
    content.seek(0)
    while chunk := content.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    content.seek(0)
    thumbnail = thumbnail_make(content_type, content)
    content.seek(0)
    return _Prepared(content, size, digest.hexdigest(), thumbnail)


def _without_metadata(upload: UploadedFile[bytes], name: str, content_type: str, files: ExitStack) -> BinaryIO:
    """The upload rewritten without its metadata into a temporary file (closed with ``files``); the
    upload itself when its structure cannot be followed (a damaged image keeps what it carries)."""
    target = files.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - closed with the ExitStack
    upload.seek(0)
    try:
        strip_metadata(content_type, _binary(upload), target)
    except Malformed as exc:
        logger.warning("Stored %r (%s) with its metadata: %s", name, content_type, exc)
        return _binary(upload)
    return target


def _binary(upload: UploadedFile[bytes]) -> BinaryIO:
    # An uploaded file proxies a binary file object (read, seek, tell), which is all the readers use.
    return cast(BinaryIO, upload)


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
        with ExitStack() as files:
            # Images are rewritten and thumbnailed before the transaction, which (on SQLite) holds
            # the write lock.
            prepared = [(name, type_, _prepare(upload, name, type_, files)) for upload, name, type_ in checked]
            with transaction.atomic():
                return [_store(uploader, name, type_, ready, written) for name, type_, ready in prepared]
    except BaseException:
        delete_stored_files(written)
        raise


def _store(uploader: User, name: str, content_type: str, prepared: _Prepared, written: list[str]) -> Attachment:
    """Write the file and its thumbnail (noting their names in ``written`` at once) and the row."""
    attachment = Attachment(
        original_name=name, size=prepared.size, content_type=content_type, sha256=prepared.sha256, uploader=uploader
    )
    attachment.file.save("upload", File(prepared.content), save=False)  # named by attachment_upload_to
    written.append(str(attachment.file.name))  # set by save()
    if prepared.thumbnail is not None:
        attachment.thumbnail.save("thumbnail", ContentFile(prepared.thumbnail), save=False)
        written.append(str(attachment.thumbnail.name))  # set by save()
    attachment.save()
    return attachment


def stored_names(attachments: Iterable[Attachment]) -> list[str]:
    """The stored files of attachments: each one's file and thumbnail."""
    fields = (field for attachment in attachments for field in (attachment.file, attachment.thumbnail))
    return [field.name for field in fields if field and field.name]


def delete_stored_files(names: Iterable[str]) -> None:
    """Remove stored files, logging (not raising) what cannot be removed."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("Could not delete stored file %s", name, exc_info=True)


def attachment_files_delete_on_commit(attachments: Iterable[Attachment]) -> None:
    """Remove the attachments' files (and thumbnails) once the transaction deleting their rows commits."""
    names = stored_names(attachments)
    if names:
        transaction.on_commit(partial(delete_stored_files, names))
