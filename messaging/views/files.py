"""File upload (bounded, type-checked, stored under random names) and download (access-checked)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from core.errors import PayloadTooLarge
from messaging import events, selectors, services
from messaging.models import Attachment
from messaging.serializers import UploadResponseSerializer
from messaging.sniffing import inline_allowed, name_for_type

logger = logging.getLogger(__name__)
ERROR = OpenApiResponse(description='{"detail": "...", "code": "..."}')


class UploadThrottle(UserRateThrottle):
    scope = "upload"


class FileUploadView(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    @extend_schema(
        summary='Upload one or more files (multipart parts "file" or "files")',
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                },
            }
        },
        responses={201: UploadResponseSerializer, 400: ERROR, 413: ERROR, 415: ERROR, 429: ERROR},
    )
    def post(self, request: Request) -> Response:
        # Refuse by the declared length before reading a byte of the body (the server already has, under
        # chatsite.serve; this holds under any other ASGI server).
        if _declared_length(request) > settings.CHAT_MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"Upload requests are limited to {settings.CHAT_MAX_BODY_BYTES} bytes.",
                extra={"limit": settings.CHAT_MAX_BODY_BYTES},
            )
        uploads = request.FILES.getlist("file") + request.FILES.getlist("files")
        attachments = services.files_upload(uploader=request.user, uploads=uploads)
        return Response({"files": [events.attachment_payload(a) for a in attachments]}, status=status.HTTP_201_CREATED)


def _declared_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def attachment_response(attachment: Attachment, *, inline: bool = False) -> FileResponse:
    """The stored bytes of ``attachment`` as a download no browser sniffs (the API's and the admin's);
    shown inline only when asked and its type allows (sniffing.inline_allowed: images, audio, video,
    PDF); AttachmentNotFound when the row's file is missing on disk."""
    try:
        stored = attachment.file.open("rb")
    except FileNotFoundError:
        logger.error("Attachment %s has a row but no file on disk (%s)", attachment.pk, attachment.file.name)
        raise selectors.AttachmentNotFound() from None
    response = FileResponse(
        stored,
        as_attachment=not (inline and inline_allowed(attachment.content_type)),
        filename=name_for_type(attachment.original_name, attachment.content_type),
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


class FileDownloadView(APIView):
    @extend_schema(
        summary="Download a file (its uploader, or readers of a room where it is attached)",
        parameters=[
            OpenApiParameter(
                "inline",
                bool,
                description="Ask for Content-Disposition: inline; granted to images, audio, video and PDF "
                "only (never HTML, SVG, XML or JavaScript): anything else is always an attachment.",
            )
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: ERROR},
    )
    def get(self, request: Request, file_id: int) -> FileResponse:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=file_id)
        return attachment_response(attachment, inline=request.query_params.get("inline") in ("1", "true"))
