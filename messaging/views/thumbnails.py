"""Image thumbnails (FileViewSet.thumbnail): shown inline, since the server made the bytes."""

from __future__ import annotations

import logging

from django.http import FileResponse

from messaging import selectors
from messaging.models import Attachment
from messaging.sniffing import name_for_type
from messaging.thumbnails import CONTENT_TYPE

logger = logging.getLogger(__name__)


def thumbnail_response(attachment: Attachment) -> FileResponse:
    """The attachment's thumbnail as an inline image nothing can run in; AttachmentNotFound when it has
    none (or its file is missing on disk)."""
    if not attachment.thumbnail:
        raise selectors.AttachmentNotFound()
    try:
        stored = attachment.thumbnail.open("rb")
    except FileNotFoundError:
        logger.error("Attachment %s has no thumbnail file on disk (%s)", attachment.pk, attachment.thumbnail.name)
        raise selectors.AttachmentNotFound() from None
    response = FileResponse(
        stored,
        as_attachment=False,
        filename=name_for_type(f"{attachment.original_name.rsplit('.', 1)[0]}-thumbnail", CONTENT_TYPE),
        content_type=CONTENT_TYPE,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
