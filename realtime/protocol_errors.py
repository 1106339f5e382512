"""The errors of the WebSocket protocol itself: a frame the server cannot act on, before any service
sees it. Each becomes an ``error`` frame with its class's code, and the socket stays open."""

from __future__ import annotations

from core.errors import InvalidInput, RateLimited


class ProtocolError(InvalidInput):
    """A frame the server cannot act on, before any service sees it (an ``error`` frame; the socket stays)."""


class BinaryFrame(ProtocolError):
    """A binary frame: the protocol is JSON text."""

    code = "binary_frame"
    default_detail = "Frames must be JSON text, not binary."


class InvalidJson(ProtocolError):
    """The text is not JSON (or nests too deeply to parse)."""

    code = "invalid_json"
    default_detail = "The frame is not valid JSON."


class InvalidFrame(ProtocolError):
    """Valid JSON that is not an object."""

    code = "invalid_frame"
    default_detail = "A frame must be a JSON object with a type."


class TooManyFrames(RateLimited):
    """The socket's frame bucket is empty (CHAT_SOCKET_RATE); 4429 follows if the client keeps on."""

    default_detail = "Too many frames; slow down."


class UnknownType(ProtocolError):
    """The frame's ``type`` is missing or not one this socket takes."""

    code = "unknown_type"
    default_detail = "Unknown frame type."
