"""Pieces of the OpenAPI description shared by the API's views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse

# Every refusal of the API has this shape (core.exception_handler); field errors are described apart.
ERROR = OpenApiResponse(description='{"detail": "...", "code": "..."}')

# The security of an operation open to anyone that an administrator may also call signed in (sign-up).
# Typed Any: drf-spectacular annotates ``auth`` as scheme names, and passes it on as OpenAPI security
# requirement objects, which is what this is.
ANYONE_OR_JWT: Any = [{}, {"jwtAuth": []}]
