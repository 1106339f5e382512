"""The HTTP floor: a bare Django JSON view (no middleware, no DRF, no database, no authentication) that
answers every path, served by the same HTTP server as the project in ``bench/http_servers.py``
(``gunicorn-floor``): what Django and the server cost by themselves, which a project view can approach
but not beat. Its answer is the size of a small message payload, so the JSON encoding is not free either.

    gunicorn -c python:chatsite.gunicorn_conf bench.django_floor:application
"""

from __future__ import annotations

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="floor-" + "k" * 60,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )

from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import re_path

ANSWER = {
    "id": 1,
    "seq": 1,
    "room": "general",
    "sender": {"id": 1, "username": "bencher", "display_name": ""},
    "content": "floor",
    "created_at": "2026-01-01T00:00:00Z",
}


def floor(request: HttpRequest) -> JsonResponse:
    return JsonResponse(ANSWER, status=201 if request.method == "POST" else 200)


urlpatterns = [re_path(r"", floor)]
application = get_wsgi_application()
