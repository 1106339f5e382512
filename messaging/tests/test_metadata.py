"""The metadata stripper on its own: what each format keeps and loses, pixels untouched, hostile and
damaged structures, and buffer boundaries anywhere (a tiny read size)."""

import contextlib
import io
import random
import struct

import pytest
from PIL import ExifTags, Image, ImageCms, ImageSequence

from messaging import metadata
from messaging.metadata import Malformed, strip_metadata
from messaging.tests import samples


@pytest.fixture(params=[7, 64 * 1024], ids=["7-byte-reads", "64KiB-reads"])
def block_size(request, monkeypatch):
    monkeypatch.setattr(metadata, "_BLOCK", request.param)
    return request.param


def stripped(content_type: str, data: bytes) -> bytes:
    target = io.BytesIO()
    strip_metadata(content_type, io.BytesIO(data), target)
    return target.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of the segments before the first scan."""
    markers, pos = [], 2
    while data[pos + 1] != 0xDA:
        markers.append(data[pos + 1])
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunks.append(kind)
        pos += 12 + length
    return chunks


# --- JPEG ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_jpeg_keeps_its_pixels_and_loses_exif_xmp_and_comments(block_size, progressive):
    original = samples.jpeg((300, 200), orientation=1, progressive=progressive)

    result = stripped("image/jpeg", original)

    assert samples.SECRET not in result
    assert decoded(result).tobytes() == decoded(original).tobytes()
    assert jpeg_segments(result)[0] == 0xE0  # JFIF kept
    assert not {0xE1, 0xFE} & set(jpeg_segments(result))
    assert decoded(result).getexif() == {}


def test_a_jpeg_keeps_only_the_orientation_of_its_exif(block_size):
    result = stripped("image/jpeg", samples.jpeg(orientation=8))

    assert dict(decoded(result).getexif()) == {ExifTags.Base.Orientation: 8}


def test_a_jpeg_keeps_its_colour_profile():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = samples.jpeg(icc_profile=profile)

    assert decoded(stripped("image/jpeg", original)).info["icc_profile"] == profile


def test_a_jfif_preview_is_dropped_and_its_header_kept():
    jfif_with_preview = b"JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x01\x01" + b"\xff\x00\x00"  # a 1x1 RGB preview
    original = samples.jpeg(metadata=False)
    body = original[2 + 2 + struct.unpack(">H", original[4:6])[0] :]  # without its own APP0
    crafted = b"\xff\xd8\xff\xe0" + struct.pack(">H", len(jfif_with_preview) + 2) + jfif_with_preview + body

    result = stripped("image/jpeg", crafted)

    assert result[:20] == b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x00\x00"
    assert decoded(result).tobytes() == decoded(crafted).tobytes()


def test_anything_after_the_end_of_a_jpeg_is_dropped(block_size):
    original = samples.jpeg(metadata=False)
    appended = samples.zip_file({"location.txt": samples.SECRET})

    result = stripped("image/jpeg", original + appended)

    assert result == original


def test_other_app_segments_are_dropped_and_adobe_kept():
    original = samples.jpeg(metadata=False)
    extra = b"".join(
        bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload
        for marker, payload in [
            (0xED, b"Photoshop 3.0\x00" + samples.SECRET),  # IPTC
            (0xE2, b"MPF\x00" + samples.SECRET),
            (0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01"),
        ]
    )

    result = stripped("image/jpeg", original[:2] + extra + original[2:])

    assert samples.SECRET not in result
    assert 0xEE in jpeg_segments(result)


def test_a_truncated_jpeg_is_ended_where_its_data_ends(block_size):
    original = samples.jpeg((200, 200))

    result = stripped("image/jpeg", original[: len(original) // 2])

    assert result.endswith(b"\xff\xd9")
    assert samples.SECRET not in result


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff\xe1\x00",
        b"\xff\xd8\xff\xe1\x00\x01",
        b"\xff\xd8\xff\xe1\xff\xff" + b"x" * 9,
    ],
    ids=["not-jpeg", "cut-length", "length-below-two", "segment-past-the-end"],
)
def test_a_jpeg_that_cannot_be_followed_is_malformed(data):
    with pytest.raises(Malformed):
        stripped("image/jpeg", data)


# --- PNG -------------------------------------------------------------------------------------------


def test_a_png_keeps_its_pixels_and_rendering_chunks_and_loses_text_and_exif(block_size):
    original = samples.png((300, 200), mode="RGBA")
    assert {b"tEXt", b"iTXt", b"eXIf"} <= set(png_chunks(original))

    result = stripped("image/png", original)

    assert samples.SECRET not in result
    assert png_chunks(result) == [kind for kind in png_chunks(original) if kind not in (b"tEXt", b"iTXt", b"eXIf")]
    assert decoded(result).tobytes() == decoded(original).tobytes()


def test_a_png_keeps_transparency_gamma_and_profile():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    palette = Image.new("P", (20, 20))
    original = samples.encode(palette, "PNG", transparency=0, icc_profile=profile)

    result = stripped("image/png", original)

    assert {b"tRNS", b"iCCP", b"PLTE"} <= set(png_chunks(result))
    assert decoded(result).info["transparency"] == 0


def test_an_animated_png_keeps_its_frames():
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "green", "blue")]
    original = samples.encode(frames[0], "PNG", save_all=True, append_images=frames[1:])

    result = stripped("image/apng", original)

    assert len(list(ImageSequence.Iterator(Image.open(io.BytesIO(result))))) == 3
    assert result == original


def test_a_png_keeps_only_the_orientation_of_its_exif():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 3
    original = samples.encode(samples.picture(), "PNG", exif=exif.tobytes())

    result = stripped("image/png", original)

    assert dict(decoded(result).getexif()) == {ExifTags.Base.Orientation: 3}


def test_anything_after_iend_is_dropped():
    original = samples.png(metadata=False)

    assert stripped("image/png", original + b"PK\x03\x04 appended") == original


@pytest.mark.parametrize(
    "data",
    [b"GIF89a", b"\x89PNG\r\n\x1a\n\x00\x00", b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffIDAT", samples.png()[:50]],
    ids=["not-png", "cut-header", "huge-chunk", "cut-chunk"],
)
def test_a_png_that_cannot_be_followed_is_malformed(data):
    with pytest.raises(Malformed):
        stripped("image/png", data)


# --- WebP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"lossless": True}, {"mode": "RGBA"}],
    ids=["lossy", "lossless", "alpha"],
)
def test_a_webp_keeps_its_pixels_and_loses_exif_and_xmp(block_size, options):
    original = samples.webp((120, 80), **options)

    result = stripped("image/webp", original)

    assert samples.SECRET not in result
    assert decoded(result).tobytes() == decoded(original).tobytes()
    assert result[20] & 0x0C == 0  # the VP8X flags no longer announce EXIF or XMP
    assert struct.unpack("<I", result[4:8])[0] == len(result) - 8


def test_a_webp_keeps_only_the_orientation_of_its_exif():
    original = samples.webp(metadata=False, exif=samples.exif_bytes(orientation=6))

    result = stripped("image/webp", original)

    assert samples.SECRET not in result
    assert dict(decoded(result).getexif()) == {ExifTags.Base.Orientation: 6}
    assert result[20] & 0x08


def test_an_animated_webp_keeps_its_frames():
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "blue")]
    original = samples.encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=samples.exif_bytes())

    result = stripped("image/webp", original)

    assert samples.SECRET not in result
    assert len(list(ImageSequence.Iterator(Image.open(io.BytesIO(result))))) == 2


def test_a_simple_webp_is_unchanged():
    original = samples.webp(metadata=False)

    assert stripped("image/webp", original) == original


@pytest.mark.parametrize(
    "data",
    [
        b"RIFF\x00\x00\x00\x00AVI ",
        b"RIFF\xff\xff\x00\x00WEBPVP8X",
        b"RIFF\x0c\x00\x00\x00WEBPVP8X\x00\x00\x00\x00",
    ],
    ids=["not-webp", "cut", "empty-vp8x"],
)
def test_a_webp_that_cannot_be_followed_is_malformed(data):
    with pytest.raises(Malformed):
        stripped("image/webp", data)


# --- hostile input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "original"),
    [("image/jpeg", samples.jpeg()), ("image/png", samples.png()), ("image/webp", samples.webp())],
    ids=["jpeg", "png", "webp"],
)
def test_mangled_files_give_a_file_or_malformed_and_nothing_else(content_type, original):
    rng = random.Random(20261206)  # the same mutations every run
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.6:
                data[position] = rng.randrange(256)
            elif roll < 0.8:
                del data[position : position + rng.randint(1, 50)]
            else:
                data[position:position] = rng.randbytes(rng.randint(1, 20))
        with contextlib.suppress(Malformed):
            stripped(content_type, bytes(data))
