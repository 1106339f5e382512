"""The REST surface is viewsets on routers, and the API's root lists every resource.

The routes are walked from the URL resolver, so a view added later outside a router fails here until
it is a viewset action or is named below as one of the few routes that are not resources.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.routers import Route
from rest_framework.viewsets import ViewSetMixin

from core.routers import ApiRouter
from integrations import urls as integrations_urls
from messaging import urls as messaging_urls
from users import urls as users_urls

pytestmark = pytest.mark.django_db

API = "api/v1/"
# Routes under /api/v1/ that are not resources: the root itself, the token endpoints (no resource to
# list or create) and the realtime app's presence view.
NOT_VIEWSETS = {
    "api-root",
    "auth-token",
    "auth-token-refresh",
    "auth-token-verify",
    "auth-token-logout",
    "auth-csrf",
    "auth-logout",
    "connected-users",
}
RESOURCES = {"users", "messages", "rooms", "notifications", "files", "search", "tokens", "bots", "audit", "reports"}


def api_patterns(patterns: list, prefix: str = "") -> list[tuple[str, URLPattern]]:
    """Every ``(route, pattern)`` of the site whose route starts with /api/v1/."""
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += api_patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.lstrip("^").startswith(API):
            found.append((route, pattern))
    return found


def test_every_api_route_is_a_viewset_action_on_a_router():
    routers = (users_urls.router, messaging_urls.router, integrations_urls.router)
    registered = {viewset for router in routers for _, viewset, _ in router.registry}

    strays = []
    for route, pattern in api_patterns(get_resolver().url_patterns):
        if pattern.name in NOT_VIEWSETS:
            continue
        view_class = getattr(pattern.callback, "cls", None)
        if not (view_class and issubclass(view_class, ViewSetMixin) and view_class in registered):
            strays.append(route)

    assert strays == []


def test_the_walk_sees_the_nested_room_routes():
    routes = {route for route, _ in api_patterns(get_resolver().url_patterns)}

    assert any("members/<member_ref:user_ref>" in route for route in routes)
    assert any(route.endswith("rooms/direct/") for route in routes)


def test_the_root_links_every_resource_and_the_other_entry_points(anon_client):
    response = anon_client.get("/api/v1/")

    assert response.status_code == 200
    links = response.json()
    assert set(links) == RESOURCES | {"auth/token", "connected-users"}
    assert links["rooms"] == "http://testserver/api/v1/rooms/"
    assert links["auth/token"] == "http://testserver/api/v1/auth/token/"


def test_the_root_renders_in_a_browser(client, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/v1/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b"/api/v1/notifications/" in response.content


def test_a_bulk_delete_is_routed_only_to_viewsets_that_purge(admin_api):
    assert admin_api.delete("/api/v1/messages/").status_code == 200
    assert admin_api.delete("/api/v1/rooms/").status_code == 405
    assert admin_api.delete("/api/v1/notifications/").status_code == 405


def test_the_router_keeps_the_other_list_verbs():
    list_route = ApiRouter().routes[0]

    assert isinstance(list_route, Route)
    assert list_route.mapping == {"get": "list", "post": "create", "delete": "purge"}
