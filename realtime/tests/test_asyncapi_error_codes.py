"""Every error code a socket can send is in the AsyncAPI document's ErrorCode list, and the codes only
REST can produce are listed here instead (split from test_asyncapi.py, which keeps the frame types)."""

from __future__ import annotations

import importlib
import pkgutil

from core.errors import ApplicationError
from realtime import asyncapi
from realtime.asyncapi import document

# Refusals that only REST can produce (uploads, room and user management): not socket error codes.
REST_ONLY_CODES = {
    "too_many_pins",
    "too_large",
    "unsupported_media_type",
    "no_file",
    "empty_file",
    "invalid_name",
    "too_many_files",
    "slug_taken",
    "invalid_room",
    "last_owner",
    "not_authenticated",
    "invalid_credentials",
    "no_active_account",
    "token_not_valid",
    "user_inactive",
    "invalid",
    "conflict",
    # Message search is REST only (GET /api/v1/search/).
    "query_too_short",
    "invalid_cursor",
    # Teams: moderation, reports, tokens and bots are REST only.
    "too_many_tokens",
    "too_many_bots",
    "banned",
    "already_reported",
    "not_moderator",
    # Integrations: webhooks and subscriptions are REST only.
    "invalid_payload",
    "refused_target",
}


def _error_classes(root: type[ApplicationError]) -> set[type[ApplicationError]]:
    found: set[type[ApplicationError]] = set()
    for sub in root.__subclasses__():
        found |= {sub, *_error_classes(sub)}
    return {cls for cls in found if ".tests." not in cls.__module__}


def _import_every_project_module() -> None:
    """Error classes live where they are raised: import every module so that each one is defined."""
    for package in ("core", "users", "messaging", "realtime", "compat"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".tests" not in module.name and ".migrations" not in module.name:
                importlib.import_module(module.name)


def test_every_error_code_the_sockets_can_send_is_documented():
    _import_every_project_module()
    codes = {cls.code for cls in _error_classes(ApplicationError)}
    known = set(asyncapi._inline(document()["components"]["schemas"]["ErrorCode"])["anyOf"][0]["enum"])

    assert {"invalid_json", "binary_frame", "client_id_conflict", "invalid_recipients", "server_error"} <= codes
    assert codes - REST_ONLY_CODES <= known, "document the new socket error code, or list it as REST-only"
    assert not (REST_ONLY_CODES & known), "a documented socket code is listed as REST-only"
