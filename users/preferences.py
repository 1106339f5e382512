"""The user's preferences document: its defaults and the one validator every write goes through.

Stored as JSON so the web page can grow settings without migrations, but validated on every write so a
client can never store a shape the other clients cannot read.
"""

from __future__ import annotations

import copy
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

THEMES = ("system", "light", "dark")
# "email": missed-message emails (emails/), for the kinds switched on here; on by default.
NOTIFICATION_KEYS = ("mentions", "direct_messages", "file_shared", "sound", "desktop", "email", "thread_replies")
DEFAULT_PREFERENCES: dict[str, Any] = {
    "theme": "system",
    "language": "en",
    "timezone": "UTC",
    "notifications": dict.fromkeys(NOTIFICATION_KEYS, True) | {"sound": False, "desktop": False},
    # Whether others see that one has read a message (GET /api/v1/messages/{id}/readers/).
    "share_read_receipts": True,
}


def default_preferences() -> dict[str, Any]:
    """A fresh copy of the defaults (a callable, so model instances never share one dict)."""
    return copy.deepcopy(DEFAULT_PREFERENCES)


def merge_preferences(current: dict[str, Any] | None, changes: Any) -> dict[str, Any]:
    """Apply a partial update (top level and ``notifications``) and return the validated result."""
    if not isinstance(changes, dict):
        raise ValidationError({"preferences": ["Must be a JSON object."]})
    merged = validate_preferences(current or {}, partial=True)
    for key, value in changes.items():
        if key == "notifications" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return validate_preferences(merged)


def validate_preferences(document: Any, *, partial: bool = False) -> dict[str, Any]:
    """Return ``document`` completed with defaults, or raise ValidationError naming each bad key."""
    if not isinstance(document, dict):
        raise ValidationError({"preferences": ["Must be a JSON object."]})
    errors: list[str] = []
    result = default_preferences()
    for key, value in document.items():
        checker = _CHECKERS.get(key)
        if checker is None:
            errors.append(f"Unknown preference {key!r}.")
            continue
        problem = checker(value)
        if problem:
            errors.append(f"{key}: {problem}")
        elif key == "notifications":
            result[key].update(value)
        else:
            result[key] = value
    if errors and not partial:
        raise ValidationError({"preferences": errors})
    return result


def _check_theme(value: Any) -> str | None:
    return None if value in THEMES else f"must be one of {', '.join(THEMES)}."


def _check_language(value: Any) -> str | None:
    codes = [code for code, _ in settings.LANGUAGES]
    return None if value in codes else f"must be one of {', '.join(codes)}."


def _check_timezone(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 64:
        return "must be an IANA time zone name such as Europe/Madrid."
    try:
        zoneinfo.ZoneInfo(value)
    except (KeyError, ValueError, OSError):
        # A key is a path under the tz database: besides ZoneInfoNotFoundError (a KeyError), odd keys
        # raise ValueError ("../etc", "", "zone.tab") or OSError ("America" is a directory).
        return f"unknown time zone {value!r}."
    return None


def _check_notifications(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "must be an object."
    unknown = sorted(set(value) - set(NOTIFICATION_KEYS))
    if unknown:
        return f"unknown keys {', '.join(unknown)}; allowed: {', '.join(NOTIFICATION_KEYS)}."
    if not all(isinstance(flag, bool) for flag in value.values()):
        return "every value must be true or false."
    return None


def _check_flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false."


_CHECKERS = {
    "share_read_receipts": _check_flag,
    "theme": _check_theme,
    "language": _check_language,
    "timezone": _check_timezone,
    "notifications": _check_notifications,
}
