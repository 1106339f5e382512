"""back_chat compatibility: the FastAPI original's paths and JSON shapes as thin aliases.

``shapes`` builds the original's JSON from the new API's (pure functions, shared with the legacy
sockets in ``realtime.compat``); ``views`` translates requests and answers around the same services,
selectors and views as ``/api/v1/``. Routes are in ``chatsite.compat_urls``.
"""
