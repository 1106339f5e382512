import pytest

from users.models import User
from users.tests.factories import make_user

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
