"""File upload (bounded, type-checked, stored under random names) and download (access-checked)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import status
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
from messaging.sniffing import name_for_type
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
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: ERROR},
    )
    def retrieve(self, request: AuthenticatedRequest, file_id: int) -> FileResponse:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=file_id)
        return attachment_response(attachment)


def _declared_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def attachment_response(attachment: Attachment) -> FileResponse:
    """The stored bytes of ``attachment`` as a download no browser renders or sniffs (the API's and the
    admin's); AttachmentNotFound when the row's file is missing on disk."""
    try:
        stored = attachment.file.open("rb")
    except FileNotFoundError:
        logger.error("Attachment %s has a row but no file on disk (%s)", attachment.pk, attachment.file.name)
        raise selectors.AttachmentNotFound() from None
    response = FileResponse(
        stored,
        as_attachment=True,
        filename=name_for_type(attachment.original_name, attachment.content_type),
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
