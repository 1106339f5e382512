"""Small WebP previews of uploaded images, made with Pillow at upload.

A thumbnail is optional: anything that keeps one from being made (a format without a decoder here,
such as HEIC; an image over CHAT_THUMBNAIL_MAX_PIXELS; a file its decoder refuses) means none, never a
refused upload or an error. Pixels are decoded only after the header's dimensions have been checked,
with Pillow's own decompression-bomb check as a second guard (its warning counts as a refusal here),
and each type is opened by its own decoder only.

The thumbnail is the first frame (of an animated GIF, PNG or WebP), turned by its EXIF orientation,
at most CHAT_THUMBNAIL_SIZE pixels on its longest side, keeping transparency, and carries no metadata
but the colour profile: no EXIF (so no GPS position), no XMP.
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import BinaryIO

from django.conf import settings
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

# The decoder trusted with each sniffed type (the formats Pillow decodes that browsers show).
DECODERS = {
    "image/png": "PNG",
    "image/apng": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/avif": "AVIF",
    "image/bmp": "BMP",
}
CONTENT_TYPE = "image/webp"
EXTENSION = ".webp"
_QUALITY = 80


class TooManyPixels(ValueError):
    """The image's declared dimensions are over CHAT_THUMBNAIL_MAX_PIXELS."""


def thumbnail_make(content_type: str, file: BinaryIO) -> bytes | None:
    """The WebP thumbnail of an image of ``content_type`` read from ``file``, or None."""
    decoder = DECODERS.get(content_type)
    if decoder is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about each damaged tag or chunk it skips
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _render(file, decoder)
    except Exception as exc:  # any failure of a decoder on hostile input only means "no thumbnail"
        logger.info("No thumbnail for a %s upload: %s: %s", content_type, type(exc).__name__, exc)
        return None


def _render(file: BinaryIO, decoder: str) -> bytes:
    size = settings.CHAT_THUMBNAIL_SIZE
    with Image.open(file, formats=[decoder]) as image:
        if image.width * image.height > settings.CHAT_THUMBNAIL_MAX_PIXELS:
            raise TooManyPixels(f"{image.width}x{image.height} is over CHAT_THUMBNAIL_MAX_PIXELS")
        icc_profile = image.info.get("icc_profile")
        # thumbnail() decodes the first frame only, and a JPEG at a reduced scale (draft mode);
        # turning it afterwards is the same as before, the bounding box being square.
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        upright = ImageOps.exif_transpose(image)
        thumbnail = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
    thumbnail.info = {}
    output = io.BytesIO()
    thumbnail.save(output, "WEBP", quality=_QUALITY, icc_profile=icc_profile or None)
    return output.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
