"""An upload handler that stops writing as soon as a file or the request goes over its limit.

The server reads a whole request body before Django sees it, up to CHAT_MAX_BODY_BYTES
(chatsite/server.py), so the limits here protect the disk and memory of the request's own processing:
the view checks Content-Length first, and this handler refuses the part that would cross a limit
instead of writing it, raising an error that the API renders as a JSON 413 (or 400 for too many files).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

from core.errors import InvalidInput, PayloadTooLarge


class FileTooLarge(PayloadTooLarge):
    """One file is over CHAT_MAX_UPLOAD_BYTES."""


class TooManyFiles(InvalidInput):
    """The request carries more than CHAT_MAX_UPLOAD_FILES files."""

    code = "too_many_files"


class LimitedUploadHandler(FileUploadHandler):
    """Counts bytes per file and per request and passes chunks on to the next handler."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.files = 0
        self.file_bytes = 0
        self.total_bytes = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files += 1
        self.file_bytes = 0
        if self.files > settings.CHAT_MAX_UPLOAD_FILES:
            raise TooManyFiles(f"At most {settings.CHAT_MAX_UPLOAD_FILES} files per request.")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.file_bytes += len(raw_data)
        self.total_bytes += len(raw_data)
        if self.file_bytes > settings.CHAT_MAX_UPLOAD_BYTES:
            raise FileTooLarge(
                f"{self.file_name!r} is larger than {settings.CHAT_MAX_UPLOAD_BYTES} bytes.",
                extra={"limit": settings.CHAT_MAX_UPLOAD_BYTES},
            )
        if self.total_bytes > settings.CHAT_MAX_UPLOAD_REQUEST_BYTES:
            raise PayloadTooLarge(
                f"The files add up to more than {settings.CHAT_MAX_UPLOAD_REQUEST_BYTES} bytes.",
                extra={"limit": settings.CHAT_MAX_UPLOAD_REQUEST_BYTES},
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
