"""Image thumbnails: made at upload, bounded, without metadata, served with the file's access rule, and
removed with the file; originals served without their metadata."""

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import ExifTags, Image

from messaging import events
from messaging.models import Attachment, Room
from messaging.services import files_upload, messages_purge
from messaging.services.cleanup import orphans_sweep
from messaging.tests import samples
from messaging.tests.factories import general, make_room, multipart, send
from messaging.thumbnails import thumbnail_make
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/files/"


def upload(client, name: str, content: bytes) -> dict:
    body, content_type = multipart([("file", name, content)])
    response = client.generic("POST", URL, body, content_type=content_type)
    assert response.status_code == 201, response.content
    return response.json()["files"][0]


def fetch(client, url: str):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.status_code == 200 else None
    return response, body


def stored(settings, folder: str) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / folder
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def gps_of(image: Image.Image) -> dict:
    return dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


# --- made and served ----------------------------------------------------------------------------------


def test_an_image_gets_a_bounded_webp_thumbnail_served_inline(api):
    described = upload(api, "wide.jpg", samples.jpeg((1200, 800)))

    assert described["thumbnail_url"] == f"/api/v1/files/{described['id']}/thumbnail/"
    response, body = fetch(api, described["thumbnail_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Content-Disposition"] == 'inline; filename="wide-thumbnail.webp"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    thumbnail = opened(body)
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (400, 267))


def test_the_thumbnail_size_is_a_setting(api, settings):
    settings.CHAT_THUMBNAIL_SIZE = 100

    described = upload(api, "tall.png", samples.png((300, 900)))

    assert opened(fetch(api, described["thumbnail_url"])[1]).size == (33, 100)


def test_a_small_image_is_not_enlarged(api):
    described = upload(api, "small.png", samples.png((40, 30)))

    assert opened(fetch(api, described["thumbnail_url"])[1]).size == (40, 30)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.png", samples.png()),
        ("photo.webp", samples.webp()),
        ("photo.gif", samples.animated_gif()),
        ("photo.bmp", samples.encode(samples.picture(), "BMP")),
        ("photo.avif", samples.encode(samples.picture(), "AVIF")),
    ],
)
def test_every_browser_image_format_pillow_decodes_gets_one(api, name, content):
    described = upload(api, name, content)

    assert described["thumbnail_url"] is not None
    assert fetch(api, described["thumbnail_url"])[0].status_code == 200


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("IMG_0001.HEIC", samples.heic()),
        ("notes.txt", b"words\n"),
        ("plan.pdf", samples.pdf()),
        ("clip.mov", samples.mov()),
    ],
    ids=["heic-without-decoder", "text", "pdf", "video"],
)
def test_anything_else_has_none_and_its_thumbnail_path_is_404(api, settings, name, content):
    described = upload(api, name, content)

    assert described["thumbnail_url"] is None
    response, _ = fetch(api, f"{URL}{described['id']}/thumbnail/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such file.", "code": "not_found"}
    assert stored(settings, "thumbnails") == []


def test_an_animated_gif_gives_its_first_frame(api):
    described = upload(api, "anim.gif", samples.animated_gif())

    thumbnail = opened(fetch(api, described["thumbnail_url"])[1]).convert("RGB")

    pixel = thumbnail.getpixel((20, 15))
    assert isinstance(pixel, tuple)
    red, _, blue = pixel
    assert red > 200
    assert blue < 50


def test_transparency_is_kept(api):
    described = upload(api, "logo.png", samples.encode(Image.new("RGBA", (50, 50), (0, 0, 255, 0)), "PNG"))

    thumbnail = opened(fetch(api, described["thumbnail_url"])[1])

    assert thumbnail.mode == "RGBA"
    pixel = thumbnail.getpixel((25, 25))
    assert isinstance(pixel, tuple)
    assert pixel[3] == 0


def test_the_thumbnail_is_turned_by_the_exif_orientation(api):
    # Orientation 6: the camera was turned a quarter; the picture shows upright as 48x64.
    described = upload(api, "turned.jpg", samples.jpeg((64, 48), orientation=6))

    thumbnail = opened(fetch(api, described["thumbnail_url"])[1]).convert("RGB")

    assert thumbnail.size == (48, 64)
    top, bottom = thumbnail.getpixel((24, 5)), thumbnail.getpixel((24, 58))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] - top[1] > 150  # the red left half is now on top
    assert abs(bottom[0] - bottom[1]) < 40  # and the grey right half below


# --- metadata: gone from the thumbnail and from the served original --------------------------------


def test_exif_gps_is_gone_from_the_thumbnail_and_the_served_original_of_a_jpeg(api):
    original = samples.jpeg((640, 480), orientation=6)
    assert gps_of(opened(original))[ExifTags.GPS.GPSLatitude] == samples.GPS_LATITUDE  # the sample has it
    described = upload(api, "photo.jpg", original)

    _, served = fetch(api, described["url"])
    _, thumbnail = fetch(api, described["thumbnail_url"])

    for data in (served, thumbnail):
        assert samples.SECRET not in data
        assert gps_of(opened(data)) == {}
        assert "xmp" not in opened(data).info
        assert "comment" not in opened(data).info
    assert dict(opened(served).getexif()) == {ExifTags.Base.Orientation: 6}  # still shown upright
    assert opened(thumbnail).getexif() == {}
    assert described["size"] == len(served) < len(original)
    assert opened(served).tobytes() == opened(original).tobytes()  # not recompressed


@pytest.mark.parametrize(
    ("name", "content"),
    [("photo.png", samples.png()), ("photo.webp", samples.webp()), ("photo.webp", samples.webp(mode="RGBA"))],
    ids=["png", "webp", "webp-alpha"],
)
def test_metadata_is_gone_from_served_pngs_and_webps_and_pixels_are_untouched(api, name, content):
    assert content.count(samples.SECRET) >= 2
    described = upload(api, name, content)

    _, served = fetch(api, described["url"])
    _, thumbnail = fetch(api, described["thumbnail_url"])

    for data in (served, thumbnail):
        assert samples.SECRET not in data
        assert gps_of(opened(data)) == {}
    assert opened(served).tobytes() == opened(content).tobytes()


def test_the_sha256_and_size_describe_the_stored_bytes(api, settings):
    import hashlib

    described = upload(api, "photo.jpg", samples.jpeg())

    [path] = stored(settings, "attachments")
    attachment = Attachment.objects.get()
    assert attachment.size == described["size"] == path.stat().st_size
    assert attachment.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_image_whose_structure_cannot_be_followed_is_stored_as_uploaded_without_thumbnail(api, settings):
    damaged = samples.png()[:60]  # the signature and header, then the file ends

    described = upload(api, "damaged.png", damaged)

    assert (described["content_type"], described["thumbnail_url"]) == ("image/png", None)
    assert stored(settings, "attachments")[0].read_bytes() == damaged


# --- decompression bombs ------------------------------------------------------------------------------


def test_a_png_declaring_30000x30000_pixels_is_stored_without_a_thumbnail(api, settings):
    bomb = samples.png_declaring(30000, 30000)
    assert len(bomb) < 200

    described = upload(api, "bomb.png", bomb)

    assert described["thumbnail_url"] is None
    assert stored(settings, "thumbnails") == []
    response, body = fetch(api, described["url"])
    assert (response.status_code, body) == (200, bomb)


def test_the_pixel_limit_is_a_setting(api, settings):
    settings.CHAT_THUMBNAIL_MAX_PIXELS = 64 * 48 - 1

    assert upload(api, "photo.png", samples.png((64, 48)))["thumbnail_url"] is None
    settings.CHAT_THUMBNAIL_MAX_PIXELS = 64 * 48
    assert upload(api, "photo.png", samples.png((64, 48)))["thumbnail_url"] is not None


def test_pillows_own_bomb_guard_also_means_no_thumbnail(settings, monkeypatch):
    settings.CHAT_THUMBNAIL_MAX_PIXELS = 10**12
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)

    assert thumbnail_make("image/png", io.BytesIO(samples.png((64, 48)))) is None  # a warning: refused
    assert thumbnail_make("image/png", io.BytesIO(samples.png_declaring(30000, 30000))) is None  # an error


def test_a_file_is_decoded_only_as_the_type_it_was_sniffed_as():
    assert thumbnail_make("image/png", io.BytesIO(samples.jpeg())) is None


# --- access ----------------------------------------------------------------------------------------


def test_thumbnail_access_is_the_files(api, other_api, user, client_for):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, make_user("carol")))
    described = upload(api, "secret.png", samples.png())
    unattached = upload(api, "draft.png", samples.png())
    send(user, "private pic", room=private, attachment_ids=[described["id"]])
    member = client_for(private.memberships.get(role="member").user)

    assert fetch(api, described["thumbnail_url"])[0].status_code == 200
    assert fetch(member, described["thumbnail_url"])[0].status_code == 200
    for url in (described["thumbnail_url"], unattached["thumbnail_url"], f"{URL}999999/thumbnail/"):
        response, _ = fetch(other_api, url)
        assert response.status_code == 404
        assert response.json() == {"detail": "No such file.", "code": "not_found"}


def test_readers_of_a_public_room_see_the_thumbnail(api, other_api, user):
    described = upload(api, "pic.png", samples.png())
    send(user, "look", room=general(), attachment_ids=[described["id"]])

    assert fetch(other_api, described["thumbnail_url"])[0].status_code == 200


def test_a_thumbnail_needs_a_token(anon_client, user):
    attachment = files_upload(uploader=user, uploads=[SimpleUploadedFile("a.png", samples.png())])[0]

    response = anon_client.get(f"{URL}{attachment.pk}/thumbnail/")

    assert response.status_code == 401


def test_a_thumbnail_missing_on_disk_is_404_not_500(api, user):
    attachment = files_upload(uploader=user, uploads=[SimpleUploadedFile("a.png", samples.png())])[0]
    os.remove(attachment.thumbnail.path)

    response, _ = fetch(api, f"{URL}{attachment.pk}/thumbnail/")

    assert response.status_code == 404


def test_history_and_frames_carry_the_thumbnail_url(api, user):
    described = upload(api, "pic.png", samples.png())
    message = send(user, "look", attachment_ids=[described["id"]])

    page = api.get("/api/v1/messages/", {"room": "general"}).json()["results"]

    assert page[-1]["attachments"][0]["thumbnail_url"] == described["thumbnail_url"]
    payload = events.message_created(message, room_slug="general")["message"]
    assert payload["attachments"][0]["thumbnail_url"] == described["thumbnail_url"]


# --- removed with the file ------------------------------------------------------------------------


def test_a_purge_removes_files_and_thumbnails(django_capture_on_commit_callbacks, settings, user, staff_user):
    attachment = files_upload(uploader=user, uploads=[SimpleUploadedFile("a.png", samples.png())])[0]
    send(user, "pic", attachment_ids=[attachment.pk])
    assert len(stored(settings, "thumbnails")) == 1

    with django_capture_on_commit_callbacks(execute=True):
        messages_purge(actor=staff_user, room=general())

    assert stored(settings, "attachments") == stored(settings, "thumbnails") == []


def test_the_orphan_sweep_removes_unattached_uploads_with_their_thumbnails(
    django_capture_on_commit_callbacks, settings, user
):
    attachment = files_upload(uploader=user, uploads=[SimpleUploadedFile("a.png", samples.png())])[0]
    Attachment.objects.filter(pk=attachment.pk).update(created_at=timezone.now() - timedelta(days=2))

    with django_capture_on_commit_callbacks(execute=True):
        sweep = orphans_sweep()

    assert sweep.unattached_uploads == 1
    assert stored(settings, "attachments") == stored(settings, "thumbnails") == []


def test_the_orphan_sweep_removes_stray_thumbnails_and_keeps_known_ones(settings, user):
    kept = files_upload(uploader=user, uploads=[SimpleUploadedFile("a.png", samples.png())])[0]
    stray = Path(settings.MEDIA_ROOT) / "thumbnails" / "2020" / "01" / "left-by-a-crash.webp"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"RIFF")
    old = timezone.now().timestamp() - 3600
    for path in (stray, Path(kept.thumbnail.path), Path(kept.file.path)):
        os.utime(path, (old, old))

    sweep = orphans_sweep()

    assert sweep.stray_files == 1
    assert not stray.exists()
    assert Path(kept.thumbnail.path).exists()
    assert Path(kept.file.path).exists()


def test_a_failed_upload_leaves_no_thumbnail_behind(user, settings, monkeypatch):
    original_save = Attachment.save

    def fail_on_second(self, *args, **kwargs):
        if Attachment.objects.count() == 1:
            raise OSError("disk full")
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(Attachment, "save", fail_on_second)

    with pytest.raises(OSError, match="disk full"):
        files_upload(uploader=user, uploads=[SimpleUploadedFile(n, samples.png()) for n in ("a.png", "b.png")])

    assert stored(settings, "attachments") == stored(settings, "thumbnails") == []
