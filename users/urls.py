from django.urls import path

from core.routers import ApiRouter
from users import auth_views
from users.views import ApiTokenViewSet, AuditViewSet, BotViewSet, UserViewSet

# Regex lookups (``\d+``), as the OpenAPI document has always described the user id.
router = ApiRouter(use_regex_path=True)
router.register("users", UserViewSet, basename="user")
router.register("tokens", ApiTokenViewSet, basename="token")
router.register("bots", BotViewSet, basename="bot")
router.register("audit", AuditViewSet, basename="audit")

urlpatterns = [
    path("auth/token/", auth_views.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh/", auth_views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/token/verify/", auth_views.TokenVerifyView.as_view(), name="auth-token-verify"),
    path("auth/csrf/", auth_views.CsrfView.as_view(), name="auth-csrf"),
    path("auth/logout/", auth_views.LogoutView.as_view(), name="auth-logout"),
    # DESIGN.md lists logout beside refresh and verify; both spellings are served.
    path("auth/token/logout/", auth_views.LogoutView.as_view(), name="auth-token-logout"),
    *router.urls,
]
