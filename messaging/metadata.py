"""Strip metadata (EXIF with its GPS position, XMP, IPTC, comments, text chunks) from JPEG, PNG and WebP
uploads without decoding or recompressing a pixel: the files are rewritten segment by segment.

What stays is what a viewer needs to show the picture as it was taken: the compressed image data, its
colour profile (ICC) and colour-transform markers, and the EXIF orientation, rewritten as an EXIF block
holding that one tag (dropped when it is the default). What goes, per format:

- JPEG: APP1 (EXIF, with its embedded preview, and XMP), APP2 other than ICC_PROFILE (MPF and FlashPix),
  APP3-APP13 and APP15 (IPTC, Photoshop, maker data), COM, the preview inside a JFIF APP0 header, JFXX,
  and everything after the end-of-image marker (multi-picture secondary images, vendor trailers,
  appended archives).
- PNG: every ancillary chunk that does not change how the image looks (tEXt, zTXt, iTXt, tIME, eXIf,
  private chunks); kept: the critical chunks, tRNS, gAMA, cHRM, sRGB, iCCP, sBIT, pHYs, bKGD, hIST,
  sPLT, cICP, mDCV, cLLI and APNG's acTL, fcTL and fdAT. Nothing after IEND.
- WebP: EXIF, XMP and unknown chunks; nothing after the RIFF size.

Other types (GIF, AVIF, HEIC, TIFF...) are stored as uploaded.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from typing import BinaryIO

from PIL import Image

STRIPPED_TYPES = frozenset({"image/jpeg", "image/png", "image/apng", "image/webp"})
_BLOCK = 64 * 1024
_ORIENTATION = 0x0112


class Malformed(ValueError):
    """The file does not follow its format far enough to be rewritten."""


def strip_metadata(content_type: str, source: BinaryIO, target: BinaryIO) -> None:
    """Write ``source`` (an image of ``content_type`` in STRIPPED_TYPES) to ``target`` (seekable, empty)
    without its metadata; Malformed when its structure cannot be followed."""
    reader = _Reader(source)
    if content_type == "image/jpeg":
        _strip_jpeg(reader, target)
    elif content_type in ("image/png", "image/apng"):
        _strip_png(reader, target)
    elif content_type == "image/webp":
        _strip_webp(reader, target)
    else:
        raise ValueError(f"{content_type} has no metadata stripper")


class _Reader:
    """Buffered reads from a file, keeping the bytes not yet consumed."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.data = b""
        self.pos = 0

    def available(self) -> int:
        return len(self.data) - self.pos

    def fill(self, wanted: int = 1) -> bool:
        """Make at least ``wanted`` bytes available if the file has them; False at its end."""
        if self.available() >= wanted:
            return True
        self.data = self.data[self.pos :]
        self.pos = 0
        while len(self.data) < wanted:
            block = self.file.read(max(_BLOCK, wanted - len(self.data)))
            if not block:
                return False
            self.data += block
        return True

    def read(self, size: int) -> bytes:
        if not self.fill(size):
            raise Malformed("the file ends early")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def copy(self, size: int, target: BinaryIO | None) -> None:
        """Pass ``size`` bytes to ``target`` (None: skip them) without holding them all at once."""
        while size:
            if not self.fill():
                raise Malformed("the file ends early")
            chunk = self.data[self.pos : self.pos + min(size, self.available())]
            self.pos += len(chunk)
            size -= len(chunk)
            if target is not None:
                target.write(chunk)


# --- EXIF orientation ------------------------------------------------------------------------------


def _orientation(exif: bytes) -> int:
    """The orientation tag of an EXIF block (with or without its ``Exif\\0\\0`` prefix); 1 when absent
    or unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about each damaged tag it skips
            parsed = Image.Exif()
            parsed.load(exif)
            value = int(parsed.get(_ORIENTATION, 1))
    except Exception:  # hostile EXIF of any shape just means "no orientation"
        return 1
    return value if 2 <= value <= 8 else 1


def _orientation_only(orientation: int) -> bytes:
    """A TIFF-structured EXIF block holding only the orientation (without the ``Exif\\0\\0`` prefix)."""
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    return exif.tobytes()[6:]


# --- JPEG ------------------------------------------------------------------------------------------

_SOI, _EOI, _SOS, _APP0, _APP1, _APP2, _APP14, _COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE1, 0xE2, 0xEE, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length


def _strip_jpeg(reader: _Reader, target: BinaryIO) -> None:
    if reader.read(2) != b"\xff\xd8":
        raise Malformed("no start-of-image marker")
    target.write(b"\xff\xd8")
    exif_seen = False
    while True:
        marker = _next_marker(reader)
        if marker is None or marker == _EOI:
            target.write(b"\xff\xd9")  # a truncated file is ended where its data ends
            return
        if marker in _STANDALONE:
            target.write(bytes((0xFF, marker)))
            continue
        (length,) = struct.unpack(">H", reader.read(2))
        if length < 2:
            raise Malformed("a segment shorter than its length field")
        payload = reader.read(length - 2)
        kept = _kept_jpeg_segment(marker, payload, exif_seen)
        exif_seen = exif_seen or (marker == _APP1 and payload.startswith(b"Exif\x00\x00"))
        if kept is not None:
            target.write(bytes((0xFF, marker)) + struct.pack(">H", len(kept) + 2) + kept)
        if marker == _SOS:
            _copy_scan(reader, target)


def _kept_jpeg_segment(marker: int, payload: bytes, exif_seen: bool) -> bytes | None:
    """The payload to write for a segment (possibly rewritten), or None to drop it."""
    if marker == _APP0:
        if payload.startswith(b"JFIF\x00") and len(payload) >= 14:
            return payload[:12] + b"\x00\x00"  # the header without its preview image
        return None
    if marker == _APP1:
        if payload.startswith(b"Exif\x00\x00") and not exif_seen:
            orientation = _orientation(payload)
            return b"Exif\x00\x00" + _orientation_only(orientation) if orientation != 1 else None
        return None
    if marker == _APP2:
        return payload if payload.startswith(b"ICC_PROFILE\x00") else None
    if marker == _APP14:
        return payload if payload.startswith(b"Adobe") else None
    if 0xE0 <= marker <= 0xEF or marker == _COM:
        return None
    return payload


def _next_marker(reader: _Reader) -> int | None:
    """The next marker's code, skipping fill bytes and stray bytes between segments (as libjpeg
    does); None at the end of the file."""
    while reader.fill():
        byte = reader.data[reader.pos]
        reader.pos += 1
        if byte != 0xFF:
            continue
        while reader.fill() and reader.data[reader.pos] == 0xFF:
            reader.pos += 1
        if not reader.fill():
            return None
        code = reader.data[reader.pos]
        reader.pos += 1
        if code != 0x00:
            return code
    return None


def _copy_scan(reader: _Reader, target: BinaryIO) -> None:
    """Copy entropy-coded data up to (not including) the next marker other than a stuffed 0xFF00 or a
    restart marker; at the end of the file, everything."""
    while reader.fill():
        data, start = reader.data, reader.pos
        index = data.find(b"\xff", start)
        while index != -1:
            after = index + 1
            while after < len(data) and data[after] == 0xFF:
                after += 1
            if after == len(data):
                break  # the byte after the 0xFF run is in the next block
            code = data[after]
            if code != 0x00 and not 0xD0 <= code <= 0xD7:
                target.write(data[start:index])
                reader.pos = index
                return
            index = data.find(b"\xff", after + 1)
        end = len(data) if index == -1 else index
        target.write(data[start:end])
        reader.pos = end
        if index != -1 and not reader.fill(reader.available() + 1):
            return  # the file ends in fill bytes


# --- PNG -------------------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEPT = {
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs", b"bKGD", b"hIST", b"sPLT",
    b"cICP", b"mDCV", b"mDCv", b"cLLI", b"cLLi", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def _strip_png(reader: _Reader, target: BinaryIO) -> None:
    if reader.read(8) != _PNG_SIGNATURE:
        raise Malformed("no PNG signature")
    target.write(_PNG_SIGNATURE)
    while True:
        length, kind = struct.unpack(">I4s", reader.read(8))
        if length > 0x7FFFFFFF:
            raise Malformed("a chunk longer than PNG allows")
        critical = kind[:1].isupper()
        if kind == b"eXIf":
            orientation = _orientation(reader.read(length))
            reader.copy(4, None)
            if orientation != 1:
                _write_png_chunk(target, b"eXIf", _orientation_only(orientation))
        elif critical or kind in _PNG_KEPT:
            target.write(struct.pack(">I4s", length, kind))
            reader.copy(length + 4, target)
        else:
            reader.copy(length + 4, None)
        if kind == b"IEND":
            return


def _write_png_chunk(target: BinaryIO, kind: bytes, data: bytes) -> None:
    target.write(struct.pack(">I4s", len(data), kind) + data + struct.pack(">I", zlib.crc32(kind + data)))


# --- WebP ------------------------------------------------------------------------------------------

_WEBP_KEPT = {b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(reader: _Reader, target: BinaryIO) -> None:
    riff, size, webp = struct.unpack("<4sI4s", reader.read(12))
    if riff != b"RIFF" or webp != b"WEBP" or size < 4:
        raise Malformed("no RIFF/WEBP header")
    start = target.tell()
    target.write(b"RIFF\x00\x00\x00\x00WEBP")
    remaining, orientation, flags_at = size - 4, 1, None
    while remaining >= 8:
        kind, length = struct.unpack("<4sI", reader.read(8))
        padded = length + (length & 1)
        remaining -= 8 + padded
        if kind == b"EXIF":
            orientation = _orientation(reader.read(length))
            reader.copy(padded - length, None)
        elif kind in _WEBP_KEPT:
            if kind == b"VP8X":
                if length < 10:
                    raise Malformed("a VP8X chunk shorter than its fields")
                flags_at = target.tell() + 8
            target.write(struct.pack("<4sI", kind, length))
            reader.copy(padded, target)
        else:
            reader.copy(padded, None)
    if flags_at is not None:
        if orientation != 1:
            exif = _orientation_only(orientation)
            target.write(struct.pack("<4sI", b"EXIF", len(exif)) + exif + b"\x00" * (len(exif) & 1))
        _patch_vp8x_flags(target, flags_at, exif=orientation != 1)
    end = target.tell()
    target.seek(start + 4)
    target.write(struct.pack("<I", end - start - 8))
    target.seek(end)


def _patch_vp8x_flags(target: BinaryIO, offset: int, *, exif: bool) -> None:
    end = target.tell()
    target.seek(offset)
    flags = target.read(1)[0] & ~(_VP8X_EXIF | _VP8X_XMP)
    target.seek(offset)
    target.write(bytes((flags | (_VP8X_EXIF if exif else 0),)))
    target.seek(end)
