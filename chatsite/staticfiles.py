"""WhiteNoise that does not force every request through two extra thread hops under ASGI.

WhiteNoise's middleware is synchronous only. Django's ASGI handler then runs everything outside it in a
worker thread and everything inside it back on the event loop (``sync_to_async`` around it,
``async_to_sync`` within it), for every request, static or not. This subclass is also asynchronous:
the static-file lookup is a dictionary read, so requests for anything else go straight on, and only a
static file is served from a thread (opening it is blocking I/O). The middleware chain is then async
from end to end, and an API request pays one thread hop, into its view.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any = None, settings: Any = None) -> None:
        if settings is None:
            super().__init__(get_response)
        else:
            super().__init__(get_response, settings)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest) -> Any:
        if self.autorefresh:  # development: looks on disk
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
