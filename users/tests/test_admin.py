import pytest

from users import services
from users.models import User
from users.tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client, staff_user):
    client.force_login(staff_user)
    return client


def test_admin_lists_and_searches_users(admin_client_logged_in):
    make_user("bob", city="Porto")

    response = admin_client_logged_in.get("/admin/users/user/", {"q": "porto"})

    assert response.status_code == 200
    assert b"bob" in response.content


def test_admin_action_deactivates_users(admin_client_logged_in, staff_user):
    bob = make_user("bob")

    response = admin_client_logged_in.post(
        "/admin/users/user/",
        {"action": "deactivate_users", "_selected_action": [bob.pk, staff_user.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert not User.objects.get(pk=bob.pk).is_active
    assert User.objects.get(pk=staff_user.pk).is_active  # an admin cannot lock themself out


def test_admin_action_signs_users_out_everywhere(admin_client_logged_in):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    from users.tests.factories import refresh_for

    bob = make_user("bob")
    refresh_for(bob)
    refresh_for(bob)

    admin_client_logged_in.post(
        "/admin/users/user/", {"action": "sign_out_everywhere", "_selected_action": [bob.pk]}, follow=True
    )

    assert BlacklistedToken.objects.filter(token__user=bob).count() == 2


def test_admin_user_change_page_shows_the_chat_profile(admin_client_logged_in):
    bob = make_user("bob")

    response = admin_client_logged_in.get(f"/admin/users/user/{bob.pk}/change/")

    assert response.status_code == 200
    assert b"preferences" in response.content


# --- Through the services: the superuser rule, closed sockets, revoked tokens ----------------------


@pytest.fixture
def moderator_client(client):
    """Signed in to the admin as staff with every users permission, but not a superuser."""
    from django.contrib.auth.models import Permission

    moderator = make_user("mod", is_staff=True)
    moderator.user_permissions.set(Permission.objects.filter(content_type__app_label="users"))
    client.force_login(moderator)
    return client


def change_form(user: User, **changes) -> dict:
    """The admin change form of ``user`` as a browser would post it, with ``changes`` applied."""
    import json

    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "display_name": user.display_name,
        "postal_code": user.postal_code,
        "city": user.city,
        "preferences": json.dumps(user.preferences),
        "role": user.role,
        "external_identities-TOTAL_FORMS": "0",
        "external_identities-INITIAL_FORMS": "0",
        "external_identities-MIN_NUM_FORMS": "0",
        "external_identities-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def closes(events) -> list[tuple[str, int]]:
    return [(event["group"], event["close"]) for event in events if "close" in event]


def test_staff_cannot_change_a_superuser_in_the_admin(moderator_client, staff_user):
    form = moderator_client.get(f"/admin/users/user/{staff_user.pk}/change/")
    save = moderator_client.post(f"/admin/users/user/{staff_user.pk}/change/", change_form(staff_user, email="x@y.z"))
    password = moderator_client.post(
        f"/admin/users/user/{staff_user.pk}/password/",
        {"password1": "a-new-long-passphrase", "password2": "a-new-long-passphrase"},
    )

    assert form.status_code == 200  # view only
    assert b'name="_save"' not in form.content
    assert save.status_code == 403
    assert password.status_code == 403
    staff_user.refresh_from_db()
    assert staff_user.email == ""
    assert staff_user.check_password(PASSWORD)


def test_staff_cannot_delete_deactivate_or_sign_out_a_superuser(moderator_client, staff_user):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    from users.tests.factories import refresh_for

    refresh_for(staff_user)
    delete = moderator_client.post(f"/admin/users/user/{staff_user.pk}/delete/", {"post": "yes"})
    actions = [
        moderator_client.post(
            "/admin/users/user/", {"action": action, "_selected_action": [staff_user.pk]}, follow=True
        )
        for action in ["deactivate_users", "sign_out_everywhere"]
    ]

    assert delete.status_code == 403
    assert all(services.SUPERUSER_ONLY.encode() in response.content for response in actions)
    assert User.objects.get(pk=staff_user.pk).is_active
    assert not BlacklistedToken.objects.exists()


def test_staff_cannot_make_themselves_superuser_in_the_admin(moderator_client):
    moderator = User.objects.get(username="mod")

    moderator_client.post(f"/admin/users/user/{moderator.pk}/change/", change_form(moderator, is_superuser="on"))

    assert not User.objects.get(pk=moderator.pk).is_superuser


def test_unticking_active_in_the_admin_closes_the_users_sockets(admin_client_logged_in, events):
    bob = make_user("bob")

    response = admin_client_logged_in.post(
        f"/admin/users/user/{bob.pk}/change/", change_form(bob, is_active="", city="Porto")
    )

    assert response.status_code == 302
    bob.refresh_from_db()
    assert (bob.is_active, bob.city) == (False, "Porto")
    assert closes(events) == [(f"chat.user.{bob.pk}", 4403)]


def test_deleting_a_user_in_the_admin_closes_sockets_and_revokes_tokens(admin_client_logged_in, events):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    from users.tests.factories import refresh_for

    bob = make_user("bob")
    token = refresh_for(bob)
    group = f"chat.user.{bob.pk}"

    response = admin_client_logged_in.post(f"/admin/users/user/{bob.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(username="bob").exists()
    assert closes(events) == [(group, 4403)]
    assert BlacklistedToken.objects.filter(token__jti=token["jti"]).exists()


def test_bulk_deleting_users_in_the_admin_closes_each_users_sockets(admin_client_logged_in, events):
    users = [make_user("bob"), make_user("carol")]
    groups = sorted(f"chat.user.{user.pk}" for user in users)

    admin_client_logged_in.post(
        "/admin/users/user/",
        {"action": "delete_selected", "post": "yes", "_selected_action": [user.pk for user in users]},
    )

    assert not User.objects.filter(username__in=["bob", "carol"]).exists()
    assert sorted(group for group, _ in closes(events)) == groups


# --- Avatars: the API's policy (users.services.avatar_check) holds in the admin too -----------------


def avatar_file(name: str, image_format: str = "PNG", size: tuple[int, int] = (4, 4)):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", size, "red").save(buffer, image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def test_the_admin_refuses_an_avatar_over_the_size_limit(admin_client_logged_in, settings):
    settings.CHAT_MAX_AVATAR_BYTES = 1024
    bob = make_user("bob")
    big = avatar_file("big.bmp", "BMP", size=(64, 64))  # 12 KiB

    response = admin_client_logged_in.post(f"/admin/users/user/{bob.pk}/change/", {**change_form(bob), "avatar": big})

    assert response.status_code == 200  # the form again, with the error
    assert b"Avatars are limited to 1024 bytes." in response.content
    bob.refresh_from_db()
    assert not bob.avatar


def test_the_admin_refuses_an_image_a_browser_may_not_show(admin_client_logged_in):
    bob = make_user("bob")

    response = admin_client_logged_in.post(
        f"/admin/users/user/{bob.pk}/change/", {**change_form(bob), "avatar": avatar_file("me.bmp", "BMP")}
    )

    assert b"Avatars must be PNG, JPEG, GIF or WebP images." in response.content
    bob.refresh_from_db()
    assert not bob.avatar


def test_an_admin_avatar_is_stored_under_its_formats_suffix(admin_client_logged_in, events):
    bob = make_user("bob")

    response = admin_client_logged_in.post(
        f"/admin/users/user/{bob.pk}/change/", {**change_form(bob), "avatar": avatar_file("looks-like.gif", "JPEG")}
    )

    assert response.status_code == 302
    bob.refresh_from_db()
    assert str(bob.avatar.name).startswith("avatars/")
    assert str(bob.avatar.name).endswith(".jpg")
