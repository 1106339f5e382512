"""The WebSocket protocol's AsyncAPI document (``asyncapi.yaml`` beside this module): served at
``/api/asyncapi.yaml``, and the JSON Schemas that tests check real frames against.

The frame schemas of a direction are the payloads of the messages of the document's operations:
``receive`` for what the server sends, ``send`` for what a client sends (the document is written from
the client's side). They are returned with every ``$ref`` inlined, so any JSON Schema (draft 7) tool can
use them as they are.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from jsonschema.exceptions import ValidationError, best_match

DOCUMENT = Path(__file__).with_name("asyncapi.yaml")
CONTENT_TYPE = "application/yaml"

Action = Literal["send", "receive"]


@functools.cache
def document_text() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@functools.cache
def document() -> dict[str, Any]:
    """The parsed document (shared: do not mutate)."""
    parsed: dict[str, Any] = yaml.safe_load(document_text())
    return parsed


def _pointer(ref: str) -> Any:
    """The node a local ``#/a/b`` reference points at."""
    if not ref.startswith("#/"):
        raise ValueError(f"Only local references are supported, not {ref!r}")
    node: Any = document()
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(node: Any) -> Any:
    """A copy of ``node`` with every ``$ref`` replaced by what it points at (the document has no cycles)."""
    if isinstance(node, list):
        return [_inline(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        if len(node) > 1:
            # Draft 7 ignores a $ref's siblings; the document must not rely on them.
            raise ValueError(f"$ref {node['$ref']!r} has sibling keywords {sorted(set(node) - {'$ref'})}")
        return _inline(_pointer(node["$ref"]))
    return {key: _inline(value) for key, value in node.items()}


def channel_name(channel: str) -> str:
    """The document's name of a channel given by name (``messages``) or socket path (``/ws/messages/``).

    The path is matched exactly: ``/ws/messages`` (back_chat's socket) is another channel than
    ``/ws/messages/``.
    """
    channels: dict[str, dict[str, Any]] = document()["channels"]
    if channel in channels:
        return channel
    address = "/" + channel.lstrip("/")
    for name, spec in channels.items():
        if spec["address"] == address:
            return name
    raise ValueError(f"No channel {channel!r} in the AsyncAPI document")


@functools.cache
def frame_schemas(action: Action, channel: str | None = None) -> tuple[dict[str, Any], ...]:
    """The payload schemas (refs inlined) of the ``action`` operations, on ``channel`` or on all channels."""
    wanted = channel_name(channel) if channel is not None else None
    seen: dict[str, dict[str, Any]] = {}
    for operation in document()["operations"].values():
        on = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        if operation["action"] != action or wanted not in (None, on):
            continue
        for ref in operation["messages"]:
            message = _pointer(ref["$ref"])
            while "$ref" in message:  # a channel's message refers to components/messages
                ref = message
                message = _pointer(message["$ref"])
            seen.setdefault(ref["$ref"], _inline(message["payload"]))
    return tuple(seen.values())


def frame_type(schema: dict[str, Any]) -> str | None:
    """The ``type`` a frame schema requires (its ``const``); None for back_chat's frames, which have none."""
    const: str | None = schema.get("properties", {}).get("type", {}).get("const")
    return const


def server_frame_schema(channel: str | None = None) -> dict[str, Any]:
    """One schema for every frame the server sends (on ``channel``, or on either socket)."""
    return {"oneOf": list(frame_schemas("receive", channel))}


def client_frame_schema(channel: str | None = None) -> dict[str, Any]:
    """One schema for every frame a client may send (on ``channel``, or on either socket)."""
    return {"oneOf": list(frame_schemas("send", channel))}


@functools.cache
def _validator(action: Action, channel: str | None) -> jsonschema.Draft7Validator:
    schema = {"oneOf": list(frame_schemas(action, channel))}
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _validate(frame: Any, action: Action, channel: str | None) -> None:
    if _validator(action, channel).is_valid(frame):
        return
    # A oneOf failure lists every frame type; report against the frame's own type for a clear message.
    kind = frame.get("type") if isinstance(frame, dict) else None
    candidates = [schema for schema in frame_schemas(action, channel) if frame_type(schema) == kind]
    if not candidates:
        known = sorted({str(frame_type(schema)) for schema in frame_schemas(action, channel)})
        where = f" on {channel}" if channel else ""
        raise ValidationError(f"{kind!r} is not a frame type{where}; expected one of {', '.join(known)}")
    schema = candidates[0] if len(candidates) == 1 else {"oneOf": candidates}
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    error = best_match(validator.iter_errors(frame))
    if error is not None:
        raise error


def validate_server_frame(frame: dict[str, Any], *, channel: str | None = None) -> None:
    """Raise jsonschema.ValidationError unless ``frame`` is a server frame of the document (on ``channel``)."""
    _validate(frame, "receive", channel)


def validate_client_frame(frame: dict[str, Any], *, channel: str | None = None) -> None:
    """Raise jsonschema.ValidationError unless ``frame`` is a client frame of the document (on ``channel``)."""
    _validate(frame, "send", channel)


@require_safe
@cache_control(public=True, max_age=3600)
def asyncapi_document(request: HttpRequest) -> HttpResponse:
    """The AsyncAPI document, public like /api/schema/."""
    return HttpResponse(document_text(), content_type=CONTENT_TYPE)
