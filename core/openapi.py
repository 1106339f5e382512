"""Pieces of the OpenAPI description shared by the API's views."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

# Every refusal of the API has this shape (core.exception_handler); field errors are described apart.
ERROR = OpenApiResponse(description='{"detail": "...", "code": "..."}')
