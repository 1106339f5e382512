import hashlib
from pathlib import Path

import pytest
from django.http.multipartparser import MultiPartParser
from rest_framework.throttling import SimpleRateThrottle

from messaging import events
from messaging.models import Attachment, Room
from messaging.services import files_upload
from messaging.tests.factories import PNG_BYTES, big_file, general, make_room, multipart, png, send, text_file
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/files/"
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
UNKNOWN_BYTES = bytes(range(256)) * 4  # no signature, and control bytes: not text
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"


def stored_files(settings, folder: str = "") -> list[Path]:
    """Every file under MEDIA_ROOT (or a folder of it: "attachments" holds the originals)."""
    root = Path(settings.MEDIA_ROOT) / folder
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def upload(client, *files, field: str = "file"):
    return client.post(URL, {field: list(files)}, format="multipart")


def upload_raw(client, parts: list[tuple[str, str, bytes]]):
    body, content_type = multipart(parts)
    return client.generic("POST", URL, body, content_type=content_type)


def download(client, file_id: int):
    response = client.get(f"{URL}{file_id}/")
    body = b"".join(response.streaming_content) if response.status_code == 200 else None
    return response, body


def assert_nothing_stored(settings) -> None:
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []


# --- uploading ----------------------------------------------------------------------------------------


def test_one_file_is_stored_and_described(api, user, settings):
    response = upload(api, text_file("notes.txt", b"hello\n"))

    assert response.status_code == 201
    [described] = response.json()["files"]
    attachment = Attachment.objects.get()
    assert described == {
        "id": attachment.pk,
        "name": "notes.txt",
        "size": 6,
        "content_type": "text/plain",
        "url": f"/api/v1/files/{attachment.pk}/",
        "thumbnail_url": None,
    }
    assert attachment.uploader == user
    assert attachment.sha256 == hashlib.sha256(b"hello\n").hexdigest()
    assert attachment.message is None


def test_several_file_parts_are_stored_in_order(api):
    response = upload(api, png("a.png"), text_file("b.txt"), png("c.png"))

    assert response.status_code == 201
    assert [f["name"] for f in response.json()["files"]] == ["a.png", "b.txt", "c.png"]
    assert Attachment.objects.count() == 3


def test_the_originals_files_part_name_is_accepted_too(api):
    response = upload(api, png("a.png"), text_file("b.txt"), field="files")

    assert response.status_code == 201
    assert [f["content_type"] for f in response.json()["files"]] == ["image/png", "text/plain"]


def test_file_and_files_parts_may_be_mixed(api):
    response = api.post(URL, {"file": png("a.png"), "files": text_file("b.txt")}, format="multipart")

    assert response.status_code == 201
    assert len(response.json()["files"]) == 2


def test_the_type_comes_from_the_bytes_not_the_name(api):
    response = upload(api, png("picture.txt"), text_file("notes.png", b"just words\n"))

    assert [(f["name"], f["content_type"]) for f in response.json()["files"]] == [
        ("picture.txt.png", "image/png"),
        ("notes.png.txt", "text/plain"),
    ]


def test_files_are_stored_under_random_names_in_media_attachments(api, settings):
    response = upload(api, png("holiday photo.png"), text_file("secret-plan.txt"))

    assert response.status_code == 201
    on_disk = stored_files(settings, "attachments")
    assert len(on_disk) == 2
    root = Path(settings.MEDIA_ROOT) / "attachments"
    for path, attachment in zip(on_disk, Attachment.objects.order_by("file"), strict=True):
        assert path.is_relative_to(root)
        assert path == Path(settings.MEDIA_ROOT) / str(attachment.file.name)
        assert "holiday" not in path.name
        assert "secret" not in path.name
    assert sorted(p.suffix for p in on_disk) == [".png", ".txt"]
    assert sorted(p.read_bytes() for p in on_disk) == sorted([PNG_BYTES, b"plain text\n"])


def test_the_same_file_twice_is_stored_twice_never_overwritten(api, settings):
    first = upload(api, png("same.png")).json()["files"][0]
    second = upload(api, png("same.png")).json()["files"][0]

    assert first["id"] != second["id"]
    assert len(stored_files(settings, "attachments")) == 2


def test_a_file_too_big_for_memory_is_stored_intact(api, settings):
    content = b"line of text\n" * 250_000  # over FILE_UPLOAD_MAX_MEMORY_SIZE: goes through a temporary file

    response = upload(api, text_file("log.txt", content))

    assert response.status_code == 201
    attachment = Attachment.objects.get()
    assert attachment.size == len(content)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert stored_files(settings, "attachments")[0].read_bytes() == content


def test_html_is_accepted_as_plain_text_and_served_back_as_an_attachment(api, settings):
    response = upload(api, text_file("page.html", HTML_BYTES))

    assert response.status_code == 201
    described = response.json()["files"][0]
    assert (described["name"], described["content_type"]) == ("page.html.txt", "text/plain")
    assert stored_files(settings, "attachments")[0].suffix == ".txt"
    served, body = download(api, described["id"])
    assert body == HTML_BYTES
    assert served["Content-Type"] == "text/plain"
    assert served["Content-Disposition"] == 'attachment; filename="page.html.txt"'
    assert served["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("photo.png.html", PNG_BYTES, "photo.png.html.png"),
        ("readme.txt.hta", b"just words\n", "readme.txt.hta.txt"),
        ("invoice.pdf.exe", b"%PDF-1.7\n", "invoice.pdf.exe.pdf"),
        ("notes", b"just words\n", "notes.txt"),
        ("Photo.PNG", PNG_BYTES, "Photo.PNG"),
        ("camera.jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 60, "camera.jpeg"),
    ],
    ids=["png-as-html", "text-as-hta", "pdf-as-exe", "no-extension", "own-extension", "jpeg-alias"],
)
def test_names_end_in_the_extension_of_the_sniffed_type_on_disk_in_the_api_and_in_the_download(
    api, settings, name, content, expected
):
    response = upload_raw(api, [("file", name, content)])

    assert response.status_code == 201, response.content
    described = response.json()["files"][0]
    assert described["name"] == expected
    assert Attachment.objects.get().original_name == expected
    [path] = stored_files(settings, "attachments")
    assert path.suffix == {".PNG": ".png", ".jpeg": ".jpg"}.get(Path(expected).suffix, Path(expected).suffix)
    served, _ = download(api, described["id"])
    assert served["Content-Disposition"] == f'attachment; filename="{expected}"'


def test_a_name_stored_before_or_edited_in_the_admin_is_served_with_the_sniffed_extension(api, user):
    attachment = files_upload(uploader=user, uploads=[text_file("notes.txt")])[0]
    Attachment.objects.filter(pk=attachment.pk).update(original_name="click-me.hta")
    attachment.refresh_from_db()

    served, _ = download(api, attachment.pk)

    assert served["Content-Disposition"] == 'attachment; filename="click-me.hta.txt"'
    assert events.attachment_payload(attachment)["name"] == "click-me.hta.txt"  # REST, sockets, history


def test_bytes_nobody_recognises_are_octet_stream_with_no_extension(api, settings):
    response = upload_raw(api, [("file", "tool.exe", UNKNOWN_BYTES)])

    assert response.status_code == 201, response.content
    assert response.json()["files"][0]["content_type"] == "application/octet-stream"
    assert response.json()["files"][0]["name"] == "tool_exe"
    [path] = stored_files(settings, "attachments")
    assert path.suffix == ""
    served, _ = download(api, response.json()["files"][0]["id"])
    assert served["Content-Disposition"] == 'attachment; filename="tool_exe"'


def test_a_long_name_is_shortened_to_keep_the_extension(api):
    response = upload_raw(api, [("file", "a" * 250 + ".html", b"just words\n")])

    name = response.json()["files"][0]["name"]
    assert len(name) <= 255
    assert name == "a" * (len(name) - 4) + ".txt"


def test_directories_in_the_name_are_dropped_and_nothing_is_written_outside_media(api, settings, tmp_path):
    response = upload_raw(api, [("file", "../../etc/passwd", b"root:x:0:0\n")])

    assert response.status_code == 201
    assert response.json()["files"][0]["name"] == "passwd.txt"
    assert [p.name for p in tmp_path.iterdir()] == ["media"]
    [path] = stored_files(settings, "attachments")
    assert path.is_relative_to(Path(settings.MEDIA_ROOT) / "attachments")
    assert "passwd" not in str(path)


def test_windows_paths_and_reserved_characters_are_cleaned(api):
    response = upload_raw(api, [("file", "C:\\Users\\me\\re<po>rt?.txt", b"text\n")])

    assert response.status_code == 201
    assert response.json()["files"][0]["name"] == "re_po_rt_.txt"


def test_a_long_name_is_shortened_keeping_its_extension(api):
    response = upload_raw(api, [("file", "n" * 300 + ".txt", b"text\n")])

    name = response.json()["files"][0]["name"]
    assert len(name) <= 255
    assert name.endswith(".txt")


@pytest.mark.parametrize("name", ["...", "___", "?", " . ", "*:*"])
def test_a_name_that_cleans_to_nothing_is_400_invalid_name(api, settings, name):
    response = upload_raw(api, [("file", name, b"text\n")])

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_name"
    assert_nothing_stored(settings)


@pytest.mark.parametrize("name", ["", "..", "a/..", "dir/"])
def test_a_name_the_parser_drops_is_400_no_file(api, settings, name):
    response = upload_raw(api, [("file", name, b"text\n")])

    assert response.status_code == 400
    assert response.json()["code"] == "no_file"
    assert_nothing_stored(settings)


def test_an_invalid_name_among_valid_files_stores_nothing(api, settings):
    response = upload_raw(api, [("file", "ok.txt", b"fine\n"), ("file", "...", b"text\n")])

    assert response.status_code == 400
    assert_nothing_stored(settings)


def test_a_file_over_the_limit_is_413_json(api, settings):
    settings.CHAT_MAX_UPLOAD_BYTES = 100

    response = upload(api, big_file(101))

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "too_large"
    assert response.json()["limit"] == 100
    assert_nothing_stored(settings)


def test_a_file_at_the_limit_is_accepted(api, settings):
    settings.CHAT_MAX_UPLOAD_BYTES = 100

    assert upload(api, big_file(100)).status_code == 201


def test_one_file_over_the_limit_among_valid_ones_stores_nothing(api, settings):
    settings.CHAT_MAX_UPLOAD_BYTES = 100

    response = upload(api, png("a.png"), big_file(500), text_file("c.txt"))

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert_nothing_stored(settings)


def test_files_adding_up_over_the_request_limit_are_413(api, settings):
    settings.CHAT_MAX_UPLOAD_REQUEST_BYTES = 1000

    response = upload(api, big_file(600, "a.txt"), big_file(600, "b.txt"))

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert_nothing_stored(settings)


def test_a_declared_length_over_the_body_limit_is_413_before_the_body_is_read(api, settings, monkeypatch):
    settings.CHAT_MAX_BODY_BYTES = 1000

    def never(*args, **kwargs):
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(MultiPartParser, "parse", never)
    body, content_type = multipart([("file", "a.txt", b"small\n")])

    # The test client's payload also refuses reads past its real length, so nothing read 10**9 bytes.
    response = api.generic("POST", URL, body, content_type=content_type, CONTENT_LENGTH=str(10**9))

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert response.json()["limit"] == 1000
    assert_nothing_stored(settings)


def test_a_refused_type_is_415_unsupported_media_type(api, settings):
    settings.CHAT_UPLOAD_DENIED_TYPES = ["application/x-executable"]

    response = upload(api, text_file("tool.txt", ELF_BYTES))

    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "unsupported_media_type"
    assert body["detail"] == "'tool.txt' looks like application/x-executable, which is not accepted."
    assert body["allowed"] == ["*"]
    assert body["denied"] == ["application/x-executable"]
    assert_nothing_stored(settings)


def test_a_refused_type_among_valid_files_stores_nothing(api, settings):
    settings.CHAT_UPLOAD_DENIED_TYPES = ["application/x-executable"]

    response = upload(api, png("a.png"), text_file("b.txt"), text_file("run.png", ELF_BYTES))

    assert response.status_code == 415
    assert_nothing_stored(settings)


def test_an_empty_file_is_400_empty_file(api, settings):
    response = upload(api, text_file("empty.txt", b""))

    assert response.status_code == 400
    assert response.json()["code"] == "empty_file"
    assert_nothing_stored(settings)


def test_no_file_part_is_400_no_file(api, settings):
    response = api.post(URL, {"comment": "where is it?"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "no_file"
    assert_nothing_stored(settings)


def test_an_empty_multipart_body_is_400_no_file(api):
    response = api.post(URL, {}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "no_file"


def test_a_file_under_another_part_name_is_400_no_file(api, settings):
    response = upload(api, png(), field="upload")

    assert response.status_code == 400
    assert response.json()["code"] == "no_file"
    assert_nothing_stored(settings)


def test_more_files_than_allowed_is_400_too_many_files(api, settings):
    settings.CHAT_MAX_UPLOAD_FILES = 2

    response = upload(api, png("a.png"), png("b.png"), png("c.png"))

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_files"
    assert_nothing_stored(settings)


def test_the_file_limit_counts_both_part_names(api, settings):
    settings.CHAT_MAX_UPLOAD_FILES = 2

    response = api.post(URL, {"file": [png("a.png"), png("b.png")], "files": png("c.png")}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_files"
    assert_nothing_stored(settings)


def test_a_json_body_is_415(api, settings):
    response = api.post(URL, {"file": "aGVsbG8="}, format="json")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert_nothing_stored(settings)


def test_a_raw_body_is_415(api):
    response = api.generic("POST", URL, PNG_BYTES, content_type="image/png")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_multipart_without_a_boundary_is_400_parse_error(api):
    response = api.generic("POST", URL, b"garbage", content_type="multipart/form-data")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_uploading_needs_a_token(anon_client, settings):
    response = upload(anon_client, png())

    assert response.status_code == 401
    assert_nothing_stored(settings)


def test_uploads_are_throttled_per_user(api, other_api):
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "upload": "2/min"}
    try:
        codes = [upload(api, png()).status_code for _ in range(3)]
        someone_else = upload(other_api, png()).status_code
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original

    assert codes == [201, 201, 429]
    assert someone_else == 201


def test_downloads_are_not_throttled_like_uploads(api):
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "upload": "1/min"}
    try:
        file_id = upload(api, png()).json()["files"][0]["id"]
        codes = [download(api, file_id)[0].status_code for _ in range(3)]
        refused = upload(api, png()).status_code
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original

    assert codes == [200, 200, 200]
    assert refused == 429


def test_a_failure_while_storing_removes_the_files_already_written(user, settings, monkeypatch):
    original_save = Attachment.save
    calls = []

    def fail_on_second(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise OSError("disk full")
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(Attachment, "save", fail_on_second)

    with pytest.raises(OSError, match="disk full"):
        files_upload(uploader=user, uploads=[png("a.png"), png("b.png"), png("c.png")])

    assert_nothing_stored(settings)


# --- downloading --------------------------------------------------------------------------------------


def test_the_uploader_downloads_the_bytes_as_an_attachment(api):
    file_id = upload(api, png("my pixel.png")).json()["files"][0]["id"]

    response, body = download(api, file_id)

    assert response.status_code == 200
    assert body == PNG_BYTES
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="my pixel.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(PNG_BYTES))


def test_a_non_ascii_name_is_encoded_in_the_disposition(api):
    file_id = upload_raw(api, [("file", "résumé.txt", b"cv\n")]).json()["files"][0]["id"]

    response, _ = download(api, file_id)

    assert response["Content-Disposition"] == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt"


def test_others_cannot_download_a_file_before_it_is_attached(api, other_api):
    file_id = upload(api, png()).json()["files"][0]["id"]

    response, _ = download(other_api, file_id)

    assert response.status_code == 404
    assert response.json() == {"detail": "No such file.", "code": "not_found"}


def test_readers_of_a_public_room_download_a_file_attached_there(api, other_api):
    file_id = upload(api, png()).json()["files"][0]["id"]
    assert (
        api.post("/api/v1/messages/", {"content": "look", "attachments": [file_id]}, format="json").status_code == 201
    )

    response, body = download(other_api, file_id)

    assert response.status_code == 200
    assert body == PNG_BYTES


def test_a_file_attached_in_a_private_room_is_404_to_outsiders(api, other_api, user, client_for):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, make_user("carol")))
    file_id = upload(api, png()).json()["files"][0]["id"]
    send(user, "private pic", room=private, attachment_ids=[file_id])

    outsider, _ = download(other_api, file_id)
    member, _ = download(client_for(private.memberships.get(role="member").user), file_id)

    assert outsider.status_code == 404
    assert member.status_code == 200


def test_attaching_a_file_that_does_not_exist_is_400_invalid_attachment(api):
    response = api.post("/api/v1/messages/", {"content": "look", "attachments": [999_999]}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_attachment"
    assert general().last_seq == 0


@pytest.mark.parametrize("file_id", [2**63, 2**64])
def test_attaching_a_file_id_beyond_any_id_is_400_not_a_crash(api, file_id):
    response = api.post("/api/v1/messages/", {"content": "look", "attachments": [file_id]}, format="json")

    assert response.status_code == 400
    assert "attachments" in response.json()
    assert general().last_seq == 0


def test_attaching_someone_elses_upload_is_400(api, other_user):
    theirs = files_upload(uploader=other_user, uploads=[png()])[0]

    response = api.post("/api/v1/messages/", {"content": "mine?", "attachments": [theirs.pk]}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_attachment"
    theirs.refresh_from_db()
    assert theirs.message is None


def test_an_unknown_file_is_404(api):
    response, _ = download(api, 999_999)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_downloading_needs_a_token(anon_client, user):
    file_id = files_upload(uploader=user, uploads=[png()])[0].pk

    response = anon_client.get(f"{URL}{file_id}/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db(transaction=True)
def test_deleting_the_message_makes_its_files_404_and_removes_them_from_disk_after_commit(settings, client_for):
    general()  # a transactional test starts without the migration's row
    author, reader = client_for(make_user("alice")), client_for(make_user("bob"))
    file_id = upload(author, png()).json()["files"][0]["id"]
    message_id = author.post("/api/v1/messages/", {"content": "pic", "attachments": [file_id]}, format="json").json()[
        "id"
    ]
    assert download(reader, file_id)[0].status_code == 200
    assert reader.get(f"{URL}{file_id}/thumbnail/").status_code == 200
    assert len(stored_files(settings, "attachments")) == 1
    assert len(stored_files(settings, "thumbnails")) == 1

    assert author.delete(f"/api/v1/messages/{message_id}/").status_code == 204

    assert download(reader, file_id)[0].status_code == 404
    assert download(author, file_id)[0].status_code == 404
    assert author.get(f"{URL}{file_id}/thumbnail/").status_code == 404
    assert_nothing_stored(settings)


def test_a_file_missing_on_disk_is_404_not_500(api, user):
    import os

    from messaging.services import files_upload
    from messaging.tests.factories import png

    attachment = files_upload(uploader=user, uploads=[png()])[0]
    os.remove(attachment.file.path)

    response = api.get(f"/api/v1/files/{attachment.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
