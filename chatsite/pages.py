"""The web chat page: one HTML document whose plain ES modules (static/chat/) talk to the REST API and
the two sockets. No build step: an import map points each module's plain path at its hashed name, so
collectstatic's cache-busting names work with relative ``import`` statements."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

MODULE_DIR = settings.BASE_DIR / "static" / "chat"


@cache
def _import_map() -> tuple[SafeString, str]:
    """The import map's JSON (safe inside <script>) and its CSP hash; computed once per process."""
    names = sorted(path.name for path in MODULE_DIR.glob("*.js"))
    # Keys are where a relative import resolves (the plain name); values are the hashed names.
    imports = {f"{settings.STATIC_URL}chat/{name}": static(f"chat/{name}") for name in names}
    text = json.dumps({"imports": imports}, separators=(",", ":")).replace("<", "\\u003c")
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return mark_safe(text), f"'sha256-{digest}'"  # noqa: S308 (our own static paths, '<' escaped)


def _content_security_policy(request: HttpRequest, script_hash: str) -> str:
    host = request.get_host()
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {script_hash}",
            "style-src 'self'",
            "img-src 'self' blob: data:",
            f"connect-src 'self' ws://{host} wss://{host}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@require_safe
@never_cache
@ensure_csrf_cookie
def chat(request: HttpRequest) -> HttpResponse:
    """The chat page; it signs in with the refresh cookie, so it needs the CSRF cookie set."""
    import_map, script_hash = _import_map()
    context = {
        "import_map": import_map,
        "limits": {
            "max_message_length": settings.CHAT_MAX_MESSAGE_LENGTH,
            "max_upload_bytes": settings.CHAT_MAX_UPLOAD_BYTES,
            "max_upload_files": settings.CHAT_MAX_UPLOAD_FILES,
            "signup_open": settings.CHAT_SIGNUP_OPEN,
        },
    }
    response = render(request, "chat/index.html", context)
    response["Content-Security-Policy"] = _content_security_policy(request, script_hash)
    response["Referrer-Policy"] = "same-origin"
    return response
