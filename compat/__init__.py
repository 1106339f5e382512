"""back_chat compatibility: the FastAPI original's paths and JSON shapes as thin aliases.

``shapes`` builds the original's JSON from the new API's (pure functions, shared with the legacy
sockets in ``compat.consumers``); ``views`` translates requests and answers around the same services,
selectors and views as ``/api/v1/``. Routes are in ``compat.urls`` (HTTP) and ``compat.routing``
(WebSocket). Nothing imports this app but ``chatsite`` (its urls and asgi modules): it depends on the
domain and the transport, never the other way round.
"""
