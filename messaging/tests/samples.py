"""Real sample bytes of the formats uploads meet: images made with Pillow, archives and audio with the
standard library, and the container headers of the rest built by hand (small but valid as far as the
sniffers read: signatures, box and chunk sizes, checksums)."""

from __future__ import annotations

import gzip
import io
import struct
import wave
import zipfile
import zlib

from PIL import ExifTags, Image, PngImagePlugin

# Every metadata block below carries this marker: a stored or served file containing it leaked.
SECRET = b"SECRET-LOCATION"
GPS_LATITUDE = (52.0, 31.0, 12.0)


def exif_bytes(*, orientation: int = 1, gps: bool = True) -> bytes:
    """An EXIF block with a camera, a GPS position and the given orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    if orientation != 1:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        position = exif.get_ifd(ExifTags.IFD.GPSInfo)
        position[ExifTags.GPS.GPSLatitudeRef] = "N"
        position[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
        position[ExifTags.GPS.GPSMapDatum] = SECRET.decode()
    return exif.tobytes()


def picture(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    """A picture whose halves differ (so a rotation shows), with a gradient (so it compresses like one)."""
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert(mode)
    image.paste(Image.new(mode, (width // 2, height), "red"), (0, 0))
    return image


def encode(image: Image.Image, format: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, format, **options)
    return output.getvalue()


def jpeg(size: tuple[int, int] = (64, 48), *, orientation: int = 1, metadata: bool = True, **options) -> bytes:
    """A JPEG with EXIF (GPS included), XMP and a comment, unless ``metadata`` is False."""
    if metadata:
        options |= {"exif": exif_bytes(orientation=orientation), "xmp": b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"}
        options |= {"comment": SECRET}
    return encode(picture(size), "JPEG", quality=90, **options)


def png(size: tuple[int, int] = (64, 48), *, mode: str = "RGB", metadata: bool = True) -> bytes:
    """A PNG with eXIf (GPS included), tEXt and compressed iTXt (XMP), unless ``metadata`` is False."""
    options: dict = {}
    if metadata:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", SECRET.decode())
        info.add_itxt("XML:com.adobe.xmp", SECRET.decode(), zip=True)
        options = {"exif": exif_bytes(), "pnginfo": info}
    return encode(picture(size, mode), "PNG", **options)


def webp(size: tuple[int, int] = (64, 48), *, mode: str = "RGB", metadata: bool = True, **options) -> bytes:
    if metadata:
        options |= {"exif": exif_bytes(), "xmp": b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"}
    return encode(picture(size, mode), "WEBP", **options)


def animated_gif() -> bytes:
    """Two frames: red, then blue."""
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` RGB pixels (a decompression bomb's
    header: one compressed row of data stands for all of them)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * (1 + 3 * min(width, 1024))))
        + png_chunk(b"IEND", b"")
    )


def box(kind: bytes, payload: bytes = b"") -> bytes:
    """An ISO base media file format box."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))


def heic() -> bytes:
    """An iPhone photo's header: ftyp heic (mif1, heic), then its meta box."""
    return ftyp(b"heic", b"mif1", b"heic") + box(
        b"meta", b"\x00" * 4 + box(b"hdlr", b"\x00" * 8 + b"pict" + b"\x00" * 13)
    )


def mov() -> bytes:
    """A QuickTime movie's header: ftyp qt, wide, mdat."""
    return ftyp(b"qt  ", b"qt  ") + box(b"wide") + box(b"mdat", b"\x00" * 32)


def m4a() -> bytes:
    """An AAC audio file in an MP4 container: ftyp M4A."""
    return ftyp(b"M4A ", b"M4A ", b"mp42", b"isom") + box(b"mdat", b"\x00" * 32)


def mp4() -> bytes:
    return ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41") + box(b"mdat", b"\x00" * 32)


def three_gp() -> bytes:
    return ftyp(b"3gp4", b"3gp4", b"isom") + box(b"mdat", b"\x00" * 32)


def mp3_without_id3(frames: int = 3) -> bytes:
    """MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each) with no ID3 tag before them."""
    return (b"\xff\xfb\x90\x64" + b"\x00" * 413) * frames


def mp3_with_id3() -> bytes:
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + mp3_without_id3(1)


def seven_zip() -> bytes:
    """An empty 7z archive: its 32-byte signature header, checksums included."""
    next_header = struct.pack("<QQI", 0, 0, 0)
    return b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(next_header)) + next_header


def gzip_file() -> bytes:
    return gzip.compress(b"log line\n" * 50, mtime=0)


def zip_file(entries: dict[str, bytes] | None = None) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        for name, data in (entries or {"notes.txt": b"hello\n"}).items():
            archive.writestr(name, data)
    return output.getvalue()


def docx() -> bytes:
    return zip_file({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def wav() -> bytes:
    output = io.BytesIO()
    with wave.open(output, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\x00\x00" * 800)
    return output.getvalue()


def ogg() -> bytes:
    """The first page of an Ogg Vorbis stream."""
    return b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis" + b"\x00" * 30


def flac() -> bytes:
    return b"fLaC\x80\x00\x00\x22" + b"\x00" * 34


def webm() -> bytes:
    """An EBML header with DocType webm."""
    return b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"


def pdf() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


RANDOM = bytes((index * 97 + 13) % 256 for index in range(4096))  # every byte value, no signature
