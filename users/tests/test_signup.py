import pytest

from users.models import User
from users.tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/users/"


def test_anyone_can_sign_up_and_the_password_is_never_returned(anon_client):
    response = anon_client.post(URL, {"username": "carol", "password": PASSWORD, "city": "Madrid"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "carol"
    assert body["city"] == "Madrid"
    assert "password" not in body
    assert User.objects.get(username="carol").check_password(PASSWORD)


def test_sign_up_accepts_the_seed_profile_fields(anon_client):
    payload = {"username": "dan", "password": PASSWORD, "postal_code": "28001", "city": "Madrid", "display_name": "Dan"}

    response = anon_client.post(URL, payload, format="json")

    assert response.status_code == 201
    user = User.objects.get(username="dan")
    assert (user.postal_code, user.city, user.display_name) == ("28001", "Madrid", "Dan")


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("short", "too short"), ("password123", "too common"), ("12345678901", "entirely numeric")],
)
def test_weak_passwords_are_refused_by_djangos_validators(anon_client, password, fragment):
    response = anon_client.post(URL, {"username": "erin", "password": password}, format="json")

    assert response.status_code == 400
    assert any(fragment in message for message in response.json()["password"])
    assert not User.objects.filter(username="erin").exists()


def test_duplicate_username_is_a_field_error_even_with_other_case(anon_client):
    make_user("frank")

    response = anon_client.post(URL, {"username": "FRANK", "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json() == {"username": ["A user with that username already exists."]}
    assert User.objects.filter(username__iexact="frank").count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "gina"}, "password"),
        ({"username": "x" * 151, "password": PASSWORD}, "username"),
        ({"username": "bad name!", "password": PASSWORD}, "username"),
        ({"username": ["gina"], "password": PASSWORD}, "username"),
        ({"username": "gina", "password": PASSWORD, "email": "not-an-email"}, "email"),
        ({"username": "gina", "password": PASSWORD, "postal_code": "9" * 21}, "postal_code"),
        ({"username": "gina", "password": PASSWORD, "preferences": {"theme": "neon"}}, "preferences"),
    ],
)
def test_bad_sign_up_fields_are_400_and_nothing_is_created(anon_client, payload, field):
    response = anon_client.post(URL, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.count() == 0


def test_malformed_json_is_a_parse_error(anon_client):
    response = anon_client.post(URL, data='{"username": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_body_that_is_not_an_object_is_refused(anon_client):
    response = anon_client.post(URL, data="[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert User.objects.count() == 0


def test_unsupported_content_type_is_415(anon_client):
    response = anon_client.post(URL, data="username=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_a_non_admin_cannot_sign_up_as_admin(anon_client, flag):
    response = anon_client.post(URL, {"username": "mallory", "password": PASSWORD, flag: True}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not User.objects.filter(username="mallory").exists()


def test_a_non_admin_cannot_sign_up_inactive_accounts(anon_client):
    response = anon_client.post(URL, {"username": "ghost", "password": PASSWORD, "is_active": False}, format="json")

    assert response.status_code == 403


def test_an_admin_may_create_staff(admin_api):
    response = admin_api.post(URL, {"username": "helper", "password": PASSWORD, "is_staff": True}, format="json")

    assert response.status_code == 201
    assert User.objects.get(username="helper").is_staff


def test_closed_sign_up_refuses_anonymous_but_not_admins(anon_client, admin_api, settings):
    settings.CHAT_SIGNUP_OPEN = False

    refused = anon_client.post(URL, {"username": "ivan", "password": PASSWORD}, format="json")
    created = admin_api.post(URL, {"username": "ivan", "password": PASSWORD}, format="json")

    assert refused.status_code == 401
    assert created.status_code == 201


def test_sign_up_is_throttled(anon_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    rates = {**original, "signup": "2/min"}
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [
            anon_client.post(URL, {"username": f"t{i}", "password": PASSWORD}, format="json").status_code
            for i in range(3)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original

    assert codes == [201, 201, 429]
