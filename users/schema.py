"""OpenAPI descriptions of our authentication classes (drf-spectacular finds them by import path)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "users.authentication.BearerTokenAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class CookieTokenScheme(OpenApiAuthenticationExtension):
    target_class = "users.authentication.CookieTokenAuthentication"
    name = "accessTokenCookie"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "access_token",
            "description": "Set by POST /api/v1/auth/token/; unsafe methods also need the X-CSRFToken header.",
        }


class OidcBearerScheme(OpenApiAuthenticationExtension):
    target_class = "users.authentication.OidcBearerAuthentication"
    name = "oidcAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of the configured OpenID Connect provider (CHAT_OIDC_ISSUER), RS256.",
        }


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "users.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "chat_<prefix>_<secret>",
            "description": (
                "A personal access token or a bot's (POST /api/v1/tokens/, POST /api/v1/bots/{id}/tokens/). "
                "Scopes: read (safe methods), write (also unsafe ones), admin (also administrator powers)."
            ),
        }
