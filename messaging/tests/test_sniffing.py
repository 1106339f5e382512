"""The type of an upload, from its bytes: real sample headers of each format, text in its encodings,
and the lookalikes (text that starts like a signature, signatures of text formats)."""

import pytest

from core.env import ImproperlyConfiguredEnv, env_media_types
from messaging.sniffing import SNIFF_BYTES, inline_allowed, name_for_type, sniff, type_matches
from messaging.tests import samples


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.heic(), "image/heic"),
        (samples.mov(), "video/quicktime"),
        (samples.m4a(), "audio/mp4"),
        (samples.mp4(), "video/mp4"),
        (samples.three_gp(), "video/3gpp"),
        (samples.mp3_without_id3(), "audio/mpeg"),
        (samples.mp3_with_id3(), "audio/mpeg"),
        (samples.seven_zip(), "application/x-7z-compressed"),
        (samples.gzip_file(), "application/gzip"),
        (samples.zip_file(), "application/zip"),
        (samples.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (samples.wav(), "audio/wav"),
        (samples.ogg(), "audio/ogg"),
        (samples.flac(), "audio/flac"),
        (samples.webm(), "video/webm"),
        (samples.pdf(), "application/pdf"),
        (samples.jpeg(), "image/jpeg"),
        (samples.png(), "image/png"),
        (samples.webp(), "image/webp"),
        (samples.animated_gif(), "image/gif"),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56, "application/x-executable"),
        (samples.RANDOM, "application/octet-stream"),
    ],
    ids=[
        "heic", "mov", "m4a", "mp4", "3gp", "mp3-without-id3", "mp3-with-id3", "7z", "gzip", "zip", "docx", "wav",
        "ogg", "flac", "webm", "pdf", "jpeg", "png", "webp", "gif", "elf", "random",
    ],
)  # fmt: skip
def test_each_format_is_told_by_its_bytes(data, expected):
    assert sniff(data[:SNIFF_BYTES]) == expected


@pytest.mark.parametrize(
    "text",
    [
        b"plain words\n",
        "résumé, naïve, 日本語\n".encode(),
        "café crème\n".encode("latin-1"),
        "\u201cquoted\u201d\n".encode("cp1252"),
        "hello, wörld\n".encode("utf-16"),
        b"\xef\xbb\xbfwith a BOM\n",
        b"<!doctype html><script>alert(1)</script>\n",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n',
        b'<?xml version="1.0"?><note/>\n',
        b"function f() { return document.cookie; }\n",
        b"\x1b[31mred log line\x1b[0m\n",
    ],
    ids=["ascii", "utf-8", "latin-1", "cp1252", "utf-16", "utf-8-bom", "html", "svg", "xml", "javascript", "ansi"],
)
def test_text_in_any_common_encoding_is_text_plain_and_markup_never_more(text):
    assert sniff(text) == "text/plain"


@pytest.mark.parametrize(
    "text", [b"BMW service on Monday\n", b"MZ notes\n", b"ID3 tags to fix\n", b"GIF89a is a format\n", b"MThd\n"]
)
def test_text_starting_like_a_short_signature_is_still_text(text):
    assert sniff(text) == "text/plain"


def test_a_text_format_with_a_signature_keeps_its_type():
    assert sniff(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n") == "application/pdf"
    assert sniff(b"{\\rtf1\\ansi hello}\n") == "application/rtf"


def test_text_cut_in_the_middle_of_a_character_is_still_text():
    head = ("a" + "é" * 5000).encode()[:SNIFF_BYTES]

    assert head[-1:] == b"\xc3"
    assert sniff(head) == "text/plain"


def test_nothing_is_octet_stream():
    assert sniff(b"") == "application/octet-stream"


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("archive.tar.gz", "application/gzip", "archive.tar.gz"),
        ("backup", "application/x-7z-compressed", "backup.7z"),
        ("IMG_0001.HEIC", "image/heic", "IMG_0001.HEIC"),
        ("IMG_0001.heif", "image/heic", "IMG_0001.heif"),
        ("IMG_0002.MOV", "video/quicktime", "IMG_0002.MOV"),
        ("voice.m4a", "audio/mp4", "voice.m4a"),
        ("voice.mp3", "audio/mp4", "voice.mp3.m4a"),
        ("song", "audio/mpeg", "song.mp3"),
        ("photo.jpeg", "image/jpeg", "photo.jpeg"),
        ("notes.txt", "application/octet-stream", "notes_txt"),
        ("evil.hta", "application/octet-stream", "evil_hta"),
        ("data.csv", "text/plain", "data.csv.txt"),
    ],
)
def test_names_end_in_the_extension_of_the_sniffed_type(name, content_type, expected):
    assert name_for_type(name, content_type) == expected


@pytest.mark.parametrize(
    ("content_type", "patterns", "expected"),
    [
        ("video/mp4", ["*"], True),
        ("video/mp4", ["*/*"], True),
        ("video/mp4", ["video/*"], True),
        ("video/mp4", ["image/*", "video/mp4"], True),
        ("video/mp4", ["image/*"], False),
        ("video/mp4", ["video/webm"], False),
        ("video/mp4", [], False),
        ("videos/mp4", ["video/*"], False),
    ],
)
def test_type_patterns(content_type, patterns, expected):
    assert type_matches(content_type, patterns) is expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/png", True),
        ("image/heic", True),
        ("audio/mpeg", True),
        ("video/quicktime", True),
        ("application/pdf", True),
        ("image/svg+xml", False),
        ("text/html", False),
        ("application/xhtml+xml", False),
        ("text/xml", False),
        ("application/javascript", False),
        ("text/javascript", False),
        ("text/plain", False),
        ("application/zip", False),
        ("application/octet-stream", False),
    ],
)
def test_only_images_audio_video_and_pdf_may_be_inline_and_never_markup_or_scripts(content_type, expected):
    assert inline_allowed(content_type) is expected


def test_type_lists_from_the_environment_are_lower_cased_and_checked(monkeypatch):
    monkeypatch.setenv("TYPES", "Video/*, image/PNG,*")
    assert env_media_types("TYPES", []) == ["video/*", "image/png", "*"]

    for bad in ("video", "*/mp4", "video/mp4; charset=x", "image/**"):
        monkeypatch.setenv("TYPES", bad)
        with pytest.raises(ImproperlyConfiguredEnv, match="TYPES"):
            env_media_types("TYPES", [])


def test_unset_type_lists_take_the_default(monkeypatch):
    monkeypatch.delenv("TYPES", raising=False)

    assert env_media_types("TYPES", ["*"]) == ["*"]
