"""Top-level routes: the REST API under /api/v1/, its documentation, health, admin and the chat page."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from chatsite import pages
from core import health, metrics_view
from core.routers import api_root_view
from integrations import urls as integrations_urls
from messaging import urls as messaging_urls
from users import urls as users_urls

PAGE_METHODS = ["get", "head"]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics_view.metrics, name="metrics"),  # guarded: README "Metrics"
    path("admin/", admin.site.urls),
    # The browsable API's root: every app's viewsets, then the routes that are not viewsets.
    path(
        "api/v1/",
        api_root_view(
            users_urls.router,
            messaging_urls.router,
            integrations_urls.router,
            extra={"auth/token": "auth-token", "connected-users": "connected-users"},
        ),
        name="api-root",
    ),
    path("api/v1/", include("users.urls")),
    path("api/v1/", include("messaging.urls")),
    path("api/v1/", include("integrations.urls")),
    path("", include(integrations_urls.hook_urlpatterns)),  # incoming webhooks: README "Incoming webhooks"
    path("", include("emails.urls")),
    path("", include("realtime.urls")),
    path("", include("compat.urls")),  # back_chat's paths: README "Migrating from back_chat"
    path("api/auth/", include("rest_framework.urls")),  # the browsable API's sign-in page
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # GET only: their HTML renderer cannot render an OPTIONS answer (it was a 500).
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", http_method_names=PAGE_METHODS),
        name="swagger-ui",
    ),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", http_method_names=PAGE_METHODS), name="redoc"),
    path("", pages.chat, name="chat"),
]

handler400 = "chatsite.views.bad_request"
handler403 = "chatsite.views.permission_denied"
handler404 = "chatsite.views.page_not_found"
handler500 = "chatsite.views.server_error"
