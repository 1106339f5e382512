"""back_chat's paths (the FastAPI original), each served with and without a trailing slash.

The OpenAPI schema documents each path spelt as back_chat spelt it; the other spelling is the same view
behind a plain function, which the schema generator skips. See compat/views.py and the README section
"Migrating from back_chat".
"""

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, re_path

from compat import views as compat
from core import health

# 18 digits stay within a 64-bit primary key; longer ids fall through to the JSON 404.
USER_ID = r"(?P<user_id>\d{1,18})"


def _unlisted(view: Callable[..., Any]) -> Callable[..., Any]:
    def other_spelling(request: Any, *args: Any, **kwargs: Any) -> Any:
        return view(request, *args, **kwargs)

    other_spelling.csrf_exempt = True  # type: ignore[attr-defined]  # DRF checks CSRF itself, as as_view() does
    return other_spelling


def legacy_path(route: str, view: Callable[..., Any], name: str) -> list[URLPattern]:
    """``route`` as back_chat spelt it (documented), and with the trailing slash added or removed."""
    other = route[:-1] if route.endswith("/") else f"{route}/"
    # Only DRF views (``as_view()`` sets ``cls``) are in the schema; plain Django views need no wrapper.
    alias = _unlisted(view) if hasattr(view, "cls") else view
    return [re_path(f"^{route}$", view, name=name), re_path(f"^{other}$", alias)]


urlpatterns = [
    *legacy_path("api/health", health.healthz, "legacy-health"),
    *legacy_path("v1/user", compat.LegacyUserCreateView.as_view(), "legacy-user-create"),
    *legacy_path("v1/users/", compat.LegacyUserListView.as_view(), "legacy-user-list"),
    *legacy_path(f"v1/users/{USER_ID}", compat.LegacyUserDetailView.as_view(), "legacy-user-detail"),
    *legacy_path(
        "v1/messages", compat.LegacyMessagesViewSet.as_view({"get": "list", "delete": "purge"}), "legacy-messages"
    ),
    *legacy_path("v1/upload-files/", compat.LegacyUploadViewSet.as_view({"post": "create"}), "legacy-upload"),
    *legacy_path("v1/user-info", compat.LegacyUserInfoView.as_view(), "legacy-user-info"),
    *legacy_path("v1/connected-users", compat.LegacyConnectedUsersView.as_view(), "legacy-connected-users"),
    *legacy_path("ws/connected_users", compat.LegacyConnectedClientsView.as_view(), "legacy-connected-clients"),
    # Anything else under /v1/ answers JSON, like every API error (Django's own 404 page is HTML there).
    re_path(r"^v1/(?P<rest>.*)$", compat.legacy_not_found),
]
