from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"


def image(name: str = "me.png", image_format: str = "PNG", colour: str = "red") -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (4, 4), colour).save(buffer, image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def upload(api, upload: SimpleUploadedFile) -> dict:
    response = api.patch(ME, {"avatar": upload}, format="multipart")
    assert response.status_code == 200, response.content
    return response.json()


def avatar_path(settings, user) -> Path:
    user.refresh_from_db()
    return Path(settings.MEDIA_ROOT) / user.avatar.name


def test_the_avatar_field_is_the_avatar_url_or_null(api, user):
    before = api.get(ME).json()["avatar"]
    after = upload(api, image())["avatar"]

    assert before is None
    assert after.startswith(f"/api/v1/users/{user.pk}/avatar/?v=")
    assert api.get(f"/api/v1/users/{user.pk}/").json()["avatar"] == after


def test_the_avatar_is_served_as_a_sandboxed_private_image(api, other_api, user):
    url = upload(api, image())["avatar"]

    response = other_api.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_the_stored_name_follows_the_image_not_the_clients_name(api, user):
    upload(api, image("looks-like.gif", "JPEG"))

    response = api.get(f"/api/v1/users/{user.pk}/avatar/")

    user.refresh_from_db()
    assert user.avatar.name.endswith(".jpg")
    assert response["Content-Type"] == "image/jpeg"


def test_images_a_browser_may_not_show_are_refused(api, user):
    response = api.patch(ME, {"avatar": image("me.bmp", "BMP")}, format="multipart")

    assert response.status_code == 400
    assert "avatar" in response.json()


def test_no_avatar_unknown_user_and_anonymous(api, anon_client, user, other_user):
    assert api.get(f"/api/v1/users/{other_user.pk}/avatar/").status_code == 404
    assert api.get("/api/v1/users/424242/avatar/").json()["code"] == "not_found"
    assert anon_client.get(f"/api/v1/users/{user.pk}/avatar/").status_code == 401


def test_an_inactive_users_avatar_is_hidden_from_others_but_not_admins(api, admin_api, client_for, user):
    upload(client_for(user), image())
    user.refresh_from_db()
    user.is_active = False
    user.save()
    viewer = client_for(make_user("viewer"))

    assert viewer.get(f"/api/v1/users/{user.pk}/avatar/").status_code == 404
    assert admin_api.get(f"/api/v1/users/{user.pk}/avatar/").status_code == 200


def test_a_missing_file_is_404_not_500(api, settings, user):
    upload(api, image())
    avatar_path(settings, user).unlink()

    response = api.get(f"/api/v1/users/{user.pk}/avatar/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_replacing_and_removing_the_avatar_deletes_the_old_file(api, settings, user, events):
    upload(api, image(colour="red"))
    first = avatar_path(settings, user)
    upload(api, image(colour="blue"))
    second = avatar_path(settings, user)

    removed = api.patch(ME, {"avatar": None}, format="json")

    assert removed.status_code == 200
    assert removed.json()["avatar"] is None
    assert first != second
    assert not first.exists()
    assert not second.exists()


def test_deleting_a_user_deletes_their_avatar(admin_api, client_for, settings, user, events):
    upload(client_for(user), image())
    stored = avatar_path(settings, user)

    admin_api.delete(f"/api/v1/users/{user.pk}/")

    assert not stored.exists()
