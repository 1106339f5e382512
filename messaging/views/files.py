"""File upload (bounded, type-checked, stored under random names) and download (access-checked)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from core.errors import PayloadTooLarge
from core.openapi import ERROR
from core.viewsets import ApiViewSet
from messaging import events, selectors, services
from messaging.models import Attachment
from messaging.serializers import UploadFormSerializer, UploadResponseSerializer
from messaging.sniffing import inline_allowed, name_for_type
from messaging.views.thumbnails import thumbnail_response
from users.authentication import AuthenticatedRequest

logger = logging.getLogger(__name__)


class UploadThrottle(UserRateThrottle):
    scope = "upload"


# POST /files/ uploads (multipart only, throttled per user); GET /files/{file_id}/ downloads. (No class
# docstring: drf-spectacular would copy it into every operation's description.)
class FileViewSet(ApiViewSet):
    lookup_url_kwarg = "file_id"
    lookup_value_converter = "int"
    parser_classes = [MultiPartParser]
    serializer_class = UploadFormSerializer  # the browsable API's form
    action_throttles = {"create": [UploadThrottle]}

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
    def create(self, request: AuthenticatedRequest) -> Response:
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
    def retrieve(self, request: AuthenticatedRequest, file_id: int) -> FileResponse:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=file_id)
        return attachment_response(attachment, inline=request.query_params.get("inline") in ("1", "true"))

    @extend_schema(
        summary="An image file's thumbnail (WebP, shown inline; the same access as the file)",
        responses={
            (200, "image/webp"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description='{"detail": "...", "code": "..."}; also when the file has none'),
        },
    )
    @action(detail=True, methods=["get"], url_path="thumbnail", url_name="thumbnail")
    def thumbnail(self, request: AuthenticatedRequest, file_id: int) -> FileResponse:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=file_id)
        return thumbnail_response(attachment)


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
