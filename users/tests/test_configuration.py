import pytest

from users.tests.factories import make_user

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"


def test_configuration_needs_a_valid_token(anon_client):
    response = anon_client.get(ME)

    assert response.status_code == 401


def test_configuration_is_profile_plus_default_preferences(api, user):
    body = api.get(ME).json()

    assert body["username"] == "alice"
    assert body["preferences"]["theme"] == "system"
    assert body["preferences"]["notifications"]["mentions"] is True
    assert "password" not in body


def test_preferences_are_merged_not_replaced(api, user):
    api.patch(ME, {"preferences": {"theme": "dark"}}, format="json")
    response = api.patch(ME, {"preferences": {"notifications": {"sound": True}}}, format="json")

    prefs = response.json()["preferences"]
    assert prefs["theme"] == "dark"
    assert prefs["notifications"]["sound"] is True
    assert prefs["notifications"]["mentions"] is True


def test_missed_message_email_is_on_by_default_and_can_be_turned_off(api, user):
    assert api.get(ME).json()["preferences"]["notifications"]["email"] is True

    response = api.patch(ME, {"preferences": {"notifications": {"email": False}}}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.preferences["notifications"]["email"] is False
    assert user.preferences["notifications"]["mentions"] is True


@pytest.mark.parametrize(
    "preferences",
    [
        {"theme": "neon"},
        {"language": "xx"},
        {"timezone": "Mars/Olympus"},
        {"timezone": 3},
        {"notifications": {"mentions": "yes"}},
        {"notifications": {"email": "off"}},
        {"notifications": {"email": None}},
        {"notifications": {"unknown": True}},
        {"notifications": []},
        {"colour": "red"},
        "dark",
        [1, 2],
    ],
)
def test_invalid_preferences_are_400_and_nothing_is_stored(api, user, preferences):
    response = api.patch(ME, {"preferences": preferences}, format="json")

    assert response.status_code == 400
    assert "preferences" in response.json()
    user.refresh_from_db()
    assert user.preferences["theme"] == "system"


def test_profile_fields_are_validated(api, user):
    response = api.patch(ME, {"display_name": "x" * 151, "email": "nope"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"display_name", "email"}


def test_avatar_upload_accepts_images_only(api, user):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    good = SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")
    bad = SimpleUploadedFile("me.png", b"not an image", content_type="image/png")

    refused = api.patch(ME, {"avatar": bad}, format="multipart")
    accepted = api.patch(ME, {"avatar": good}, format="multipart")

    assert refused.status_code == 400
    assert accepted.status_code == 200
    user.refresh_from_db()
    assert user.avatar.name.startswith("avatars/")
    assert "me.png" not in user.avatar.name


def test_an_inactive_users_token_is_refused(api, user):
    user.is_active = False
    user.save()

    assert api.get(ME).status_code == 401


def test_a_deleted_users_token_is_refused(client_for):
    ghost = make_user("ghost")
    client = client_for(ghost)
    ghost.delete()

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


@pytest.mark.parametrize(
    "timezone",
    [
        "America",  # a directory of the tz database: IsADirectoryError
        "Europe/",
        "../etc",
        "/etc/passwd",
        "Europe//Madrid",
        "",
        ".",
        "zone.tab",  # a file of the database that is not a zone
        "nul\x00byte",
        "Europe/Madrid/x",
        "x" * 64,
        "x" * 65,
        "x" * 10_000,
    ],
)
def test_odd_time_zone_keys_are_a_400_field_error(api, user, timezone):
    response = api.patch(ME, {"preferences": {"timezone": timezone}}, format="json")

    assert response.status_code == 400
    assert "timezone" in response.json()["preferences"][0]
    user.refresh_from_db()
    assert user.preferences["timezone"] == "UTC"
