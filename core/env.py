"""Typed readers for environment variables that refuse bad values loudly.

Settings read the environment once, through these helpers, so a typo in a deployment fails at start-up
with a message naming the variable instead of surfacing later as odd behaviour.
"""

from __future__ import annotations

import os
import re

from core.origins import normalize_origin

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2}
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_UNITS = {
    **dict.fromkeys(("s", "sec", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}


class ImproperlyConfiguredEnv(ValueError):
    """An environment variable holds a value its setting cannot use."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={value} must be at least {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_origins(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of web origins (``https://chat.example.com``, ``http://localhost:3000``),
    each normalized as browsers send them (``core.origins``); anything else is refused loudly."""
    origins = []
    for item in env_list(name, default):
        origin = normalize_origin(item)
        if origin is None:
            raise ImproperlyConfiguredEnv(f"{name}: {item!r} is not an origin (scheme://host[:port], no path)")
        origins.append(origin)
    return origins


def env_size(name: str, default: int) -> int:
    """Read a byte size such as ``10485760``, ``64KiB`` or ``10MB`` (binary units)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", raw)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _SIZE_UNITS:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a size (e.g. 10485760, 64KiB, 10MiB)")
    return int(match.group(1)) * _SIZE_UNITS[unit]


def parse_duration(raw: str) -> int:
    """Parse ``90``, ``90s``, ``15m``, ``12h`` or ``30d`` into seconds; raise ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", raw)
    if not match:
        raise ValueError(f"{raw!r} is not a duration (e.g. 90s, 15m, 12h, 30d)")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]


def env_duration(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name}: {exc}") from None


def parse_rate(raw: str) -> tuple[int, int]:
    """Parse ``30/10s``, ``100/5m`` or DRF's ``30/min`` into (count, period in seconds); raise ValueError."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([a-zA-Z]+)\s*", raw)
    unit = match.group(3).lower() if match else None
    count, multiple = (int(match.group(1)), int(match.group(2) or 1)) if match else (0, 0)
    if unit not in _RATE_UNITS or count < 1 or multiple < 1:
        raise ValueError(f"{raw!r} is not a rate (e.g. 30/10s, 100/5m, 20/hour)")
    return count, multiple * _RATE_UNITS[unit]


def env_rate(name: str, default: str) -> str:
    """Read a rate such as ``30/10s``; the string is kept (and parsed where it is used)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        parse_rate(raw)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name}: {exc}") from None
    return raw.strip()


_MEDIA_TYPE_PATTERN = re.compile(r"\*|\*/\*|[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)")


def env_media_types(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated list of media types (``image/png``), families (``video/*``) or ``*``,
    lower-cased; a value that is none of these is refused."""
    patterns = [item.lower() for item in env_list(name, default)]
    for pattern in patterns:
        if not _MEDIA_TYPE_PATTERN.fullmatch(pattern):
            raise ImproperlyConfiguredEnv(f"{name}: {pattern!r} is not a media type, 'type/*' or '*'")
    return patterns


def env_networks(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of IP networks (``10.0.0.0/8``) or addresses (``::1``), checked and
    written in their canonical form; empty: none."""
    import ipaddress

    networks = []
    for item in env_list(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfiguredEnv(f"{name}: {item!r} is not an IP network or address") from None
    return networks


def env_choice(name: str, default: str, choices: set[str]) -> str:
    raw = os.environ.get(name, default).strip().lower() or default
    if raw not in choices:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r}: use one of {', '.join(sorted(choices))}")
    return raw
