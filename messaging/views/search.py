"""Message search over the rooms the caller may read (messaging/search.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from core.openapi import ERROR
from core.viewsets import ApiViewSet
from messaging import search
from messaging.serializers import SearchPageSerializer, SearchQuerySerializer, with_is_mine
from users.authentication import AuthenticatedRequest


# /search/: full-text search of messages, newest first, by cursor. (No class docstring: drf-spectacular
# would copy it into every operation's description.)
class SearchViewSet(ApiViewSet):
    pagination_class = None  # pages by cursor (the id of the last message shown)
    serializer_class = SearchPageSerializer

    @extend_schema(
        operation_id="search_list",
        summary="Search messages of the rooms you may read, newest first, with highlighted excerpts",
        parameters=[SearchQuerySerializer],
        responses={200: SearchPageSerializer, 400: ERROR, 401: ERROR, 404: ERROR},
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page = search.message_search(
            user=request.user,
            query=params["q"],
            room_slug=params.get("room"),
            sender_id=params.get("sender"),
            before=params.get("before"),
            after=params.get("after"),
            has=params.get("has"),
            order=params["order"],
            cursor=params.get("cursor"),
            limit=params.get("limit"),
        )
        # Payloads built from column values by the search (MessageSerializer's shape, with is_mine added here).
        with_is_mine([hit.message for hit in page.hits], request.user.pk)
        results = [{"message": hit.message, "highlight": hit.highlight} for hit in page.hits]
        return Response({"results": results, "next": _next_link(request, page.next_cursor)})


def _next_link(request: AuthenticatedRequest, cursor: int | None) -> str | None:
    if cursor is None:
        return None
    params = {key: value for key, value in request.query_params.items() if key != "cursor"}
    return f"{request.build_absolute_uri(request.path)}?{urlencode(params | {'cursor': cursor})}"
