"""Refuse NUL characters in a request's path and query string before any view sees them.

Django decodes ``%00`` into a real NUL, which PostgreSQL refuses in any text it is asked to compare
or store (``GET /api/v1/users/?search=%00`` was a 500) and SQLite silently accepts. No path or query
parameter of this site may hold one, so they are refused here, once for every view, with the API's
400 ``parse_error``. (Invalid UTF-8 in a query string is decoded by Django with replacement
characters, so no unpaired surrogate can arrive this way; request bodies are checked by their
serializer fields, which refuse NUL and surrogates.)
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

NUL_IN_QUERY = {"detail": "The path and query parameters may not contain NUL characters.", "code": "parse_error"}


class RefuseNulInQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return JsonResponse(NUL_IN_QUERY, status=400)
        return self.get_response(request)
