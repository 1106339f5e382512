"""The async-capable WhiteNoise: static files still served, everything else passed on without a thread hop."""

import pytest
from asgiref.sync import AsyncToSync, iscoroutinefunction
from django.http import HttpResponse

from chatsite.staticfiles import AsyncWhiteNoiseMiddleware

pytestmark = pytest.mark.django_db


@pytest.fixture
def finders(settings):
    """Serve straight from static/ (no collectstatic in tests), as WhiteNoise does in development."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = False


async def test_a_static_file_is_served_under_asgi(async_client, finders):
    response = await async_client.get("/static/chat/app.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert int(response["Content-Length"]) > 0
    response.close()


async def test_other_requests_go_on_to_django(async_client, finders):
    response = await async_client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_an_unknown_static_path_is_a_404_from_django(async_client, finders):
    response = await async_client.get("/static/chat/no-such-file.js")

    assert response.status_code == 404


def test_under_asgi_it_is_async():
    async def view(request):
        return HttpResponse("ok")

    assert iscoroutinefunction(AsyncWhiteNoiseMiddleware(view))


async def test_under_asgi_no_request_hops_back_from_a_thread_to_the_loop(async_client, monkeypatch):
    """With WhiteNoise sync-only, Django wrapped the inner chain in async_to_sync for every request."""
    hops = []
    original = AsyncToSync.__init__

    def counting(self, *args, **kwargs):
        hops.append(args[0] if args else kwargs.get("awaitable"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(AsyncToSync, "__init__", counting)
    response = await async_client.get("/healthz")

    assert response.status_code == 200
    assert hops == []


def test_under_wsgi_it_is_plain_whitenoise(rf, finders):
    middleware = AsyncWhiteNoiseMiddleware(lambda request: HttpResponse("from django"))

    assert not iscoroutinefunction(middleware)
    assert middleware(rf.get("/healthz")).content == b"from django"
    assert middleware(rf.get("/static/chat/app.js")).status_code == 200
