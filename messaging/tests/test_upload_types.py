"""Any file is accepted by default, typed from its bytes, named after that type on disk, in the API and
in the download, and served safely; operators narrow what is accepted with allow and deny lists."""

from pathlib import Path

import pytest

from messaging.models import Attachment
from messaging.tests import samples
from messaging.tests.factories import multipart

pytestmark = pytest.mark.django_db

URL = "/api/v1/files/"


def upload(client, name: str, content: bytes):
    body, content_type = multipart([("file", name, content)])
    return client.generic("POST", URL, body, content_type=content_type)


def download(client, file_id: int, query: str = ""):
    response = client.get(f"{URL}{file_id}/{query}")
    body = b"".join(response.streaming_content) if response.status_code == 200 else None
    return response, body


def stored(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "attachments"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    ("name", "content", "content_type", "expected_name"),
    [
        ("notes.txt", samples.RANDOM, "application/octet-stream", "notes_txt"),
        ("logs.gz", samples.gzip_file(), "application/gzip", "logs.gz"),
        ("backup.7z", samples.seven_zip(), "application/x-7z-compressed", "backup.7z"),
        ("track.mp3", samples.mp3_without_id3(), "audio/mpeg", "track.mp3"),
        ("IMG_0001.HEIC", samples.heic(), "image/heic", "IMG_0001.HEIC"),
        ("IMG_0002.MOV", samples.mov(), "video/quicktime", "IMG_0002.MOV"),
        ("memo.m4a", samples.m4a(), "audio/mp4", "memo.m4a"),
        ("clip.3gp", samples.three_gp(), "video/3gpp", "clip.3gp"),
        ("report.docx", samples.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "report.docx"),
        ("voice.mp4", samples.m4a(), "audio/mp4", "voice.mp4.m4a"),
        ("photo.heic.html", samples.heic(), "image/heic", "photo.heic.html.heic"),
    ],
    ids=["random-as-txt", "gz", "7z", "mp3-without-id3", "heic", "mov", "m4a", "3gp", "docx", "m4a-as-mp4",
         "heic-as-html"],
)  # fmt: skip
def test_formats_the_old_table_refused_or_mislabelled_are_stored_under_their_own_type(
    api, settings, name, content, content_type, expected_name
):
    response = upload(api, name, content)

    assert response.status_code == 201, response.content
    [described] = response.json()["files"]
    assert (described["content_type"], described["name"]) == (content_type, expected_name)
    [path] = stored(settings)
    assert path.read_bytes() == content
    assert path.suffix == ("" if content_type == "application/octet-stream" else Path(expected_name).suffix.lower())
    served, body = download(api, described["id"])
    assert body == content
    assert served["Content-Type"] == content_type
    assert served["Content-Disposition"] == f'attachment; filename="{expected_name}"'
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"


# --- allow and deny lists -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "denied", "accepted"),
    [
        (["*"], [], True),
        (["video/*"], [], True),
        (["video/quicktime"], [], True),
        (["image/*", "audio/*"], [], False),
        (["*"], ["video/*"], False),
        (["video/*"], ["video/quicktime"], False),
        (["*"], ["video/mp4"], True),
    ],
)
def test_the_allow_and_deny_lists_take_wildcards_and_deny_wins(api, settings, allowed, denied, accepted):
    settings.CHAT_UPLOAD_ALLOWED_TYPES, settings.CHAT_UPLOAD_DENIED_TYPES = allowed, denied

    response = upload(api, "clip.mov", samples.mov())

    assert response.status_code == (201 if accepted else 415)
    assert Attachment.objects.count() == (1 if accepted else 0)


def test_a_denied_type_is_refused_whatever_its_name_says(api, settings):
    settings.CHAT_UPLOAD_DENIED_TYPES = ["application/x-msdownload"]

    response = upload(api, "holiday.jpg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100)

    assert response.status_code == 415
    assert response.json()["detail"] == "'holiday.jpg' looks like application/x-msdownload, which is not accepted."
    assert stored(settings) == []


def test_unknown_bytes_can_be_denied_as_octet_stream(api, settings):
    settings.CHAT_UPLOAD_DENIED_TYPES = ["application/octet-stream"]

    assert upload(api, "blob.bin", samples.RANDOM).status_code == 415
    assert upload(api, "notes.txt", b"words\n").status_code == 201


# --- download headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("photo.jpg", samples.jpeg(metadata=False), "image/jpeg"),
        ("IMG.HEIC", samples.heic(), "image/heic"),
        ("track.mp3", samples.mp3_without_id3(), "audio/mpeg"),
        ("clip.mov", samples.mov(), "video/quicktime"),
        ("plan.pdf", samples.pdf(), "application/pdf"),
    ],
    ids=["jpeg", "heic", "mp3", "mov", "pdf"],
)
def test_images_audio_video_and_pdf_are_inline_when_asked(api, name, content, content_type):
    file_id = upload(api, name, content).json()["files"][0]["id"]

    served, body = download(api, file_id, "?inline=1")

    assert body == content
    assert served["Content-Type"] == content_type
    assert served["Content-Disposition"] == f'inline; filename="{name}"'
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert download(api, file_id)[0]["Content-Disposition"] == f'attachment; filename="{name}"'


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.html", b"<!doctype html><script>alert(document.cookie)</script>\n"),
        ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>\n'),
        ("app.js", b"fetch('/api/v1/users/me/').then(r => r.text()).then(alert)\n"),
        ("feed.xml", b'<?xml version="1.0"?><rss/>\n'),
        ("logs.gz", samples.gzip_file()),
        ("blob.bin", samples.RANDOM),
    ],
    ids=["html", "svg", "javascript", "xml", "gzip", "unknown"],
)
def test_everything_else_stays_an_attachment_even_when_inline_is_asked(api, name, content):
    file_id = upload(api, name, content).json()["files"][0]["id"]

    served, body = download(api, file_id, "?inline=1")

    assert body == content
    assert served["Content-Disposition"].startswith("attachment; ")
    assert served["Content-Type"] in ("text/plain", "application/gzip", "application/octet-stream")
    assert served["X-Content-Type-Options"] == "nosniff"


def test_an_active_type_stored_by_other_means_is_never_inline(api, user):
    """Rows typed before this sniffer, or by a future one that names SVG: still attachments."""
    file_id = upload(api, "drawing.svg", b"<svg/>\n").json()["files"][0]["id"]
    Attachment.objects.filter(pk=file_id).update(content_type="image/svg+xml")

    served, _ = download(api, file_id, "?inline=1")

    assert served["Content-Type"] == "image/svg+xml"
    assert served["Content-Disposition"].startswith("attachment; ")


# --- bad input ------------------------------------------------------------------------------------


def test_an_empty_file_is_refused_whatever_its_name(api, settings):
    response = upload(api, "IMG_0001.HEIC", b"")

    assert response.status_code == 400
    assert response.json()["code"] == "empty_file"
    assert stored(settings) == []


def test_a_huge_file_of_an_accepted_type_is_413(api, settings):
    settings.CHAT_MAX_UPLOAD_BYTES = 1000

    response = upload(api, "big.mov", samples.mov() + b"\x00" * 1000)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert stored(settings) == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("song.mp3", samples.heic(), "song.mp3.heic"),
        ("photo.jpg", samples.mov(), "photo.jpg.mov"),
        ("setup.exe", b"just some words\n", "setup.exe.txt"),
        ("photo.png", samples.RANDOM, "photo_png"),
    ],
    ids=["heic-as-mp3", "mov-as-jpg", "text-as-exe", "random-as-png"],
)
def test_a_lying_name_gets_the_extension_of_what_the_bytes_are(api, name, content, expected):
    described = upload(api, name, content).json()["files"][0]

    assert described["name"] == expected
    assert download(api, described["id"])[0]["Content-Disposition"] == f'attachment; filename="{expected}"'
