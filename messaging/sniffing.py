"""Recognise an upload's type from its first bytes, never from the name or header the client sent, name
files after that type, and say how a type may be served.

The signatures come from the ``filetype`` library, chosen over ``puremagic`` (the two maintained pure
Python sniffers; python-magic needs libmagic) after comparing both on real headers: filetype names
HEIC, MOV, M4A, MP3 without ID3, gzip, 7z and zip correctly, where puremagic 1.x (2.x needs Python 3.12)
labels M4A ``video/mp4`` and every zip a Word document and gives no type for MP3 with ID3. Neither
is good at text: filetype has no text detection at all, and puremagic calls JavaScript MATLAB. So a
small fallback of ours stays for exactly that (``_looks_like_text``), plus two signatures filetype
1.2.0 gets wrong (below).

A file's name decides what a browser or a desktop does with the saved download, so a name never ends
in an extension its bytes do not justify: ``photo.png.html`` that is a PNG is named
``photo.png.html.png``, ``readme.txt.hta`` that is text ``readme.txt.hta.txt``; a name that already
ends in its type's extension is kept. A type without an extension (``application/octet-stream``, bytes
nobody recognises) gets none at all: the last dot of the name becomes ``_``.
"""

from __future__ import annotations

import re

import filetype

# filetype reads up to 8 KiB (Office documents are told apart by the zip entries near the start).
SNIFF_BYTES = 8192
OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"

# filetype's names where a registered (or more common) one exists; by extension where one name
# covers two formats (woff and woff2, ttf and otf) or filetype says octet-stream (eot).
_RENAMED = {"audio/x-flac": "audio/flac", "audio/x-wav": "audio/wav", "audio/x-aiff": "audio/aiff"}
_RENAMED_BY_EXTENSION = {
    "woff": "font/woff",
    "woff2": "font/woff2",
    "ttf": "font/ttf",
    "otf": "font/otf",
    "eot": "application/vnd.ms-fontobject",
}
# Formats that are text by nature: looking like text does not make them text/plain.
_TEXTUAL_FORMATS = {"application/pdf", "application/postscript", "application/rtf"}

MAX_NAME_LENGTH = 255


def _canonical(kind: filetype.Type) -> str:
    return _RENAMED_BY_EXTENSION.get(kind.extension) or _RENAMED.get(kind.mime, kind.mime)


EXTENSIONS: dict[str, str] = {
    **{_canonical(kind): f".{kind.extension}" for kind in filetype.types},
    "image/jpeg": ".jpg",
    TEXT: ".txt",
}
# Further extensions a name may already end in and keep (compared case-insensitively).
_ALSO_ACCEPTED = {
    "image/jpeg": (".jpeg", ".jpe"),
    "image/apng": (".png",),
    "image/tiff": (".tiff",),
    "image/heic": (".heif",),
    "audio/midi": (".mid",),
    "audio/aiff": (".aif",),
    "video/mpeg": (".mpeg",),
    "application/gzip": (".tgz",),
}


def sniff(head: bytes) -> str:
    """The content type of a file whose first bytes (up to SNIFF_BYTES) are ``head``."""
    if _is_3gpp(head):
        return "video/3gpp"
    kind = filetype.guess(head) if head else None
    if kind is not None:
        content_type = _canonical(kind)
        # Two- and three-letter signatures ("BM", "MZ", "GIF", "ID3", "MThd") also start ordinary
        # sentences; a real file of those formats has control bytes in its first kilobytes.
        if content_type in _TEXTUAL_FORMATS or not _looks_like_text(head):
            return content_type
    if _looks_like_text(head):
        return TEXT
    return OCTET_STREAM


def _is_3gpp(head: bytes) -> bool:
    # filetype 1.2.0 looks for "ftyp3gp" at offset 0 instead of 4 (fixed upstream after the release:
    # https://github.com/h2non/filetype.py/pull/155), so 3GP videos go unrecognised, or pass for MP4
    # when they list "isom"; upstream checks 3GP first, as here.
    return head[4:8] == b"ftyp" and head[8:11] in (b"3gp", b"3g2")


# Bytes no text file contains (NUL and the C0 controls other than BEL, BS, TAB, LF, VT, FF, CR and ESC,
# and DEL), as file(1) decides: UTF-8 and the 8-bit encodings (Latin-1, Windows-1252) pass, binary
# data almost never does over a few kilobytes.
_BINARY_BYTES = re.compile(rb"[\x00-\x06\x0e-\x1a\x1c-\x1f\x7f]")


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _is_utf16_text(head)
    return _BINARY_BYTES.search(head) is None


def _is_utf16_text(head: bytes) -> bool:
    encoding = "utf-16-le" if head[:2] == b"\xff\xfe" else "utf-16-be"
    body = head[2 : len(head) - (len(head) % 2)]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        # The sample may end in the middle of a surrogate pair.
        if exc.start < len(body) - 4:
            return False
        text = body[: exc.start].decode(encoding)
    return _BINARY_BYTES.search(text.encode("latin-1", "replace")) is None


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


def type_matches(content_type: str, patterns: list[str]) -> bool:
    """Whether ``content_type`` is named by one of ``patterns``: ``*``, ``major/*`` or a full type."""
    major = content_type.partition("/")[0]
    return any(pattern in ("*", "*/*", content_type, f"{major}/*") for pattern in patterns)


# Types a browser could run as a document (scripts, markup that may carry scripts).
_ACTIVE = re.compile(r"html|xml|javascript|ecmascript|jscript")


def inline_allowed(content_type: str) -> bool:
    """Whether the bytes may be served ``inline`` (shown by the browser): images, audio, video and
    PDF, and never a type that could carry scripts (HTML, SVG, XML, JavaScript), whatever its family."""
    if _ACTIVE.search(content_type):
        return False
    return content_type == "application/pdf" or content_type.partition("/")[0] in ("image", "audio", "video")
