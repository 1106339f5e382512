"""The API's routes come from viewsets registered on routers, and one root lists them all.

Each app registers its viewsets on its own ``ApiRouter`` (its ``urls.py``); ``chatsite.urls`` mounts
``api_root_view`` over every app's router, so the browsable API's root (``GET /api/v1/``) links every
resource, and a viewset registered later appears there without touching the root.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rest_framework import permissions
from rest_framework.routers import APIRootView, DynamicRoute, Route, SimpleRouter

# The list route's extra verb: ``DELETE /<prefix>/`` runs the viewset's ``purge`` (a bulk delete), when
# it has one; other viewsets' list routes answer DELETE with 405 as before.
BULK_DELETE_ACTION = "purge"


class ApiRouter(SimpleRouter):
    """DRF's SimpleRouter with Django path converters for lookups (a viewset names its
    ``lookup_value_converter``: ``int``, ``slug``...) unless ``use_regex_path``, and ``DELETE`` on the
    list route mapped to ``purge``."""

    def __init__(self, *, use_regex_path: bool = False) -> None:
        super().__init__(use_regex_path=use_regex_path)
        self.routes = [_with_bulk_delete(route) if index == 0 else route for index, route in enumerate(self.routes)]


def _with_bulk_delete(list_route: Route | DynamicRoute) -> Route | DynamicRoute:
    if not isinstance(list_route, Route):
        raise TypeError("SimpleRouter's first route is the list route")
    return list_route._replace(mapping={**list_route.mapping, "delete": BULK_DELETE_ACTION})


class ApiRootView(APIRootView):
    """``GET /api/v1/``: a link to each resource. Open to anyone: it names only what the public
    OpenAPI document already does."""

    permission_classes = [permissions.AllowAny]


def api_root_view(*routers: SimpleRouter, extra: Mapping[str, str] | None = None) -> Callable[..., Any]:
    """The root view over ``routers``' list routes, then ``extra`` (``{"label": "url-name"}``) for the
    routes that are not viewsets (the token endpoints, the realtime app's views)."""
    entries = {prefix: f"{basename}-list" for router in routers for prefix, _, basename in router.registry}
    return ApiRootView.as_view(api_root_dict={**entries, **(extra or {})})
