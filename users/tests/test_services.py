import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from core.errors import PermissionDenied
from realtime.kernel import closecodes
from users import services
from users.models import User
from users.tests.factories import PASSWORD, make_user, refresh_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator(db):
    """Staff, but not a superuser."""
    return make_user("mod", is_staff=True)


def closes(events) -> list[tuple[str, int]]:
    return [(event["group"], event["close"]) for event in events if "close" in event]


@pytest.mark.parametrize(
    "data",
    [
        {"password": "a-new-long-passphrase"},
        {"email": "mine@example.com"},
        {"username": "taken-over"},
        {"display_name": "Pwned"},
        {"is_active": False},
        {"is_staff": False},
    ],
)
def test_staff_cannot_change_a_superuser(moderator, staff_user, data):
    with pytest.raises(PermissionDenied) as refused:
        services.user_update(actor=moderator, user=staff_user, data=data)

    assert refused.value.detail == services.SUPERUSER_ONLY
    staff_user.refresh_from_db()
    assert (staff_user.username, staff_user.email, staff_user.is_active) == ("root", "", True)
    assert staff_user.check_password(PASSWORD)


def test_a_superuser_changes_another_superuser_and_staff_change_ordinary_users(staff_user, moderator, other_user):
    other_root = make_user("root2", is_staff=True, is_superuser=True)

    services.user_update(actor=staff_user, user=other_root, data={"email": "root2@example.com"})
    services.user_update(actor=moderator, user=other_user, data={"email": "bob@example.com"})

    assert User.objects.get(pk=other_root.pk).email == "root2@example.com"
    assert User.objects.get(pk=other_user.pk).email == "bob@example.com"


def test_a_superuser_still_changes_their_own_profile(staff_user):
    services.user_update(actor=staff_user, user=staff_user, data={"city": "Faro"})

    assert User.objects.get(pk=staff_user.pk).city == "Faro"


def test_staff_cannot_delete_a_superuser(moderator, staff_user):
    with pytest.raises(PermissionDenied):
        services.user_delete(actor=moderator, user=staff_user)

    assert User.objects.filter(pk=staff_user.pk).exists()


def test_staff_cannot_deactivate_a_superuser_even_among_others(moderator, staff_user, other_user):
    with pytest.raises(PermissionDenied):
        services.user_set_active(actor=moderator, users=[other_user, staff_user], active=False)

    assert set(User.objects.filter(is_active=False)) == set()


def test_staff_cannot_sign_a_superuser_out(moderator, staff_user):
    refresh_for(staff_user)

    with pytest.raises(PermissionDenied):
        services.user_sign_out_everywhere(actor=moderator, user=staff_user)

    assert not BlacklistedToken.objects.exists()


def test_ordinary_users_cannot_sign_others_out_but_may_sign_themselves_out(user, other_user):
    refresh_for(user)

    with pytest.raises(PermissionDenied):
        services.user_sign_out_everywhere(actor=other_user, user=user)
    revoked = services.user_sign_out_everywhere(actor=user, user=user)

    assert revoked == 1


def test_admins_need_their_current_password_to_change_their_own(staff_user):
    from core.errors import FieldErrors

    with pytest.raises(FieldErrors) as refused:
        services.user_update(actor=staff_user, user=staff_user, data={"password": "a-new-long-passphrase"})

    assert refused.value.fields == {"current_password": ["Your current password is required and was not correct."]}


def test_set_active_is_one_update_and_closes_each_deactivated_users_sockets(staff_user, events):
    users = [make_user(f"member{n}") for n in range(3)]
    asleep = make_user("asleep", is_active=False)

    with CaptureQueriesContext(connection) as queries:
        changed = services.user_set_active(actor=staff_user, users=[*users, asleep, staff_user], active=False)

    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert changed == 3
    assert len(updates) == 1
    assert sorted(closes(events)) == sorted((f"chat.user.{u.pk}", closecodes.USER_GONE) for u in users)
    assert User.objects.get(pk=staff_user.pk).is_active  # never themself


def test_activation_closes_nothing(staff_user, events):
    asleep = make_user("asleep", is_active=False)

    assert services.user_set_active(actor=staff_user, users=[asleep], active=True) == 1
    assert User.objects.get(pk=asleep.pk).is_active
    assert closes(events) == []


def test_a_password_change_closes_the_users_sockets_with_4401(user, events):
    services.user_update(
        actor=user, user=user, data={"password": "a-new-long-passphrase", "current_password": PASSWORD}
    )

    assert closes(events) == [(f"chat.user.{user.pk}", closecodes.TOKEN_INVALID)]


def test_other_profile_changes_close_no_socket(user, events):
    services.user_update(actor=user, user=user, data={"city": "Braga"})

    assert closes(events) == []


def test_deleting_a_user_revokes_their_refresh_tokens_first(staff_user, other_user, events):
    tokens = [refresh_for(other_user), refresh_for(other_user)]
    group = f"chat.user.{other_user.pk}"

    services.user_delete(actor=staff_user, user=other_user)

    assert set(BlacklistedToken.objects.values_list("token__jti", flat=True)) == {t["jti"] for t in tokens}
    assert closes(events) == [(group, closecodes.USER_GONE)]


# --- The avatar policy: every path that sets an avatar goes through it -----------------------------


def image_upload(name: str = "me.png", image_format: str = "PNG", size: tuple[int, int] = (4, 4)):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", size, "red").save(buffer, image_format)
    return SimpleUploadedFile(name, buffer.getvalue())


def test_an_administrator_cannot_set_an_avatar_over_the_limit(staff_user, user, settings):
    from core.errors import FieldErrors

    settings.CHAT_MAX_AVATAR_BYTES = 100

    with pytest.raises(FieldErrors) as refused:
        services.user_update(actor=staff_user, user=user, data={"avatar": image_upload(size=(64, 64))})

    assert refused.value.fields == {"avatar": ["Avatars are limited to 100 bytes."]}
    user.refresh_from_db()
    assert not user.avatar


@pytest.mark.parametrize(
    ("content", "accepted"),
    [
        (image_upload("x.bmp", "BMP").read(), False),
        (b"GIF89a but not really an image", False),
        (b"", False),
        (image_upload("x.webp", "WEBP").read(), True),
    ],
)
def test_only_images_a_browser_shows_are_avatars(content, accepted):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.errors import FieldErrors

    upload = SimpleUploadedFile("avatar.png", content)

    if accepted:
        assert services.avatar_check(upload).name == "avatar.webp"
    else:
        with pytest.raises(FieldErrors, match="Avatars must be PNG, JPEG, GIF or WebP images"):
            services.avatar_check(upload)


# --- Tokens: issued, rotated, verified and revoked by the services the token endpoints call --------


def test_tokens_are_issued_for_an_active_user_with_the_right_password(user):
    from rest_framework_simplejwt.authentication import JWTAuthentication

    pair = services.token_issue(username=user.username, password=PASSWORD)

    assert JWTAuthentication().get_validated_token(pair.access.encode())["user_id"] == str(user.pk)
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "inactive"])
def test_no_tokens_for_bad_credentials_or_an_inactive_account(user, case):
    username, password = user.username, PASSWORD
    if case == "wrong password":
        password = "not-the-password"
    elif case == "unknown user":
        username = "nobody"
    else:
        User.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(services.InvalidCredentials) as refused:
        services.token_issue(username=username, password=password)

    assert (refused.value.code, refused.value.http_status) == ("invalid_credentials", 401)


def test_a_refresh_token_works_once_and_revoked_ones_not_at_all(user):
    first = services.token_issue(username=user.username, password=PASSWORD)

    second = services.token_refresh(refresh=first.refresh)
    with pytest.raises(services.InvalidToken):
        services.token_refresh(refresh=first.refresh)
    services.token_verify(token=second.refresh)
    services.token_revoke(refresh=second.refresh)
    with pytest.raises(services.InvalidToken):
        services.token_verify(token=second.refresh)


def test_a_deactivated_users_refresh_token_is_refused(user):
    pair = services.token_issue(username=user.username, password=PASSWORD)
    User.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(services.InactiveAccount) as refused:
        services.token_refresh(refresh=pair.refresh)

    assert (refused.value.code, refused.value.http_status) == ("no_active_account", 401)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c"])
def test_garbage_is_an_invalid_token_everywhere(garbage):
    for call in (services.token_verify, services.token_refresh, services.token_revoke):
        keyword = "token" if call is services.token_verify else "refresh"
        with pytest.raises(services.InvalidToken):
            call(**{keyword: garbage})
