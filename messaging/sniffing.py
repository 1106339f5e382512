"""Recognise an upload's type from its first bytes, never from the name or header the client sent, and
name files after that type.

A small table of signatures covers the types on the default allow-list; anything unrecognised is
``application/octet-stream`` and is refused unless an operator allows it.

A file's name decides what a browser or a desktop does with the saved download, so a name never ends
in an extension its bytes do not justify: ``photo.png.html`` that is a PNG is named
``photo.png.html.png``, ``readme.txt.hta`` that is text ``readme.txt.hta.txt``; a name that already
ends in its type's extension is kept. A type without a known extension (one an operator allowed) gets
no extension at all: the last dot of the name becomes ``_``.
"""

from __future__ import annotations

SNIFF_BYTES = 4096

_SIGNATURES: list[tuple[int, bytes, str]] = [
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (4, b"ftyp", "video/mp4"),
]

EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "video/webm": ".webm",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
}
# Further extensions a name may already end in and keep (compared case-insensitively).
_ALSO_ACCEPTED = {"image/jpeg": (".jpeg",)}
MAX_NAME_LENGTH = 255


def sniff(head: bytes) -> str:
    """The content type of a file whose first bytes (up to SNIFF_BYTES) are ``head``."""
    for offset, signature, content_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head and _looks_like_text(head):
        return "text/plain"
    return "application/octet-stream"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end in the middle of a multi-byte character.
        return exc.start >= len(head) - 3
    return True


def name_for_type(name: str, content_type: str) -> str:
    """``name`` ending in the extension of ``content_type`` (or in none), at most MAX_NAME_LENGTH long."""
    extension = EXTENSIONS.get(content_type, "")
    accepted = (extension, *_ALSO_ACCEPTED.get(content_type, ())) if extension else ()
    if accepted and name.lower().endswith(accepted):
        return name[:MAX_NAME_LENGTH]
    stem, dot, suffix = name.rpartition(".")
    if not extension and dot:
        name = f"{stem}_{suffix}"
    return name[: MAX_NAME_LENGTH - len(extension)].rstrip(" .") + extension
