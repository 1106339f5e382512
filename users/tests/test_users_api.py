import pytest

from users.models import User
from users.tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_listing_users_needs_a_token(anon_client):
    response = anon_client.get("/api/v1/users/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_list_is_paginated_and_hides_other_peoples_email(api, user):
    make_user("bob", email="bob@example.com")
    user.email = "alice@example.com"
    user.save()

    body = api.get("/api/v1/users/").json()

    assert set(body) >= {"results", "next", "previous"}
    by_name = {row["username"]: row for row in body["results"]}
    assert by_name["alice"]["email"] == "alice@example.com"
    assert "email" not in by_name["bob"]
    assert all("password" not in row for row in body["results"])


def test_admins_see_every_email(admin_api):
    make_user("bob", email="bob@example.com")

    rows = admin_api.get("/api/v1/users/").json()["results"]

    assert {row["username"]: row.get("email") for row in rows}["bob"] == "bob@example.com"


def test_list_search_and_inactive_users(api, admin_api):
    make_user("zed", display_name="Zed Zulu")
    make_user("sleeper", is_active=False)

    found = api.get("/api/v1/users/", {"search": "zulu"}).json()["results"]
    hidden = api.get("/api/v1/users/", {"include_inactive": "1"}).json()["results"]
    shown = admin_api.get("/api/v1/users/", {"include_inactive": "1"}).json()["results"]

    assert [row["username"] for row in found] == ["zed"]
    assert "sleeper" not in {row["username"] for row in hidden}
    assert "sleeper" in {row["username"] for row in shown}


@pytest.mark.parametrize("path", ["/api/v1/users/999999/", "/api/v1/users/abc/", "/api/v1/nothing-here/"])
def test_unknown_ids_and_paths_are_json_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_user_updates_their_own_profile(api, user):
    response = api.patch(f"/api/v1/users/{user.pk}/", {"city": "Lisbon", "display_name": "Ali"}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.city, user.display_name) == ("Lisbon", "Ali")


def test_put_behaves_like_the_originals_update(api, user):
    response = api.put(f"/api/v1/users/{user.pk}/", {"postal_code": "1000"}, format="json")

    assert response.status_code == 200
    assert response.json()["postal_code"] == "1000"


def test_updating_someone_else_is_403_and_changes_nothing(api, other_user):
    response = api.patch(f"/api/v1/users/{other_user.pk}/", {"city": "Nowhere"}, format="json")

    assert response.status_code == 403
    other_user.refresh_from_db()
    assert other_user.city == ""


def test_updating_an_unknown_user_is_404(api):
    assert api.patch("/api/v1/users/424242/", {"city": "X"}, format="json").status_code == 404


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser", "is_active"])
def test_a_user_cannot_change_admin_flags(api, user, flag):
    response = api.patch(f"/api/v1/users/{user.pk}/", {flag: not getattr(user, flag)}, format="json")

    assert response.status_code == 403
    user.refresh_from_db()
    assert getattr(user, flag) is (flag == "is_active")


def test_an_admin_can_promote_and_deactivate_others(admin_api, other_user, events):
    response = admin_api.patch(f"/api/v1/users/{other_user.pk}/", {"is_staff": True, "is_active": False}, format="json")

    assert response.status_code == 200
    other_user.refresh_from_db()
    assert other_user.is_staff
    assert not other_user.is_active
    assert {"group": f"chat.user.{other_user.pk}", "close": 4403} in [
        {"group": event["group"], "close": event.get("close")} for event in events
    ]


def test_renaming_to_a_taken_username_is_400(api, user, other_user):
    response = api.patch(f"/api/v1/users/{user.pk}/", {"username": "BOB"}, format="json")

    assert response.status_code == 400
    assert "username" in response.json()


def test_changing_password_needs_the_current_one(api, user):
    missing = api.patch(f"/api/v1/users/{user.pk}/", {"password": "a-new-long-passphrase"}, format="json")
    changed = api.patch(
        f"/api/v1/users/{user.pk}/",
        {"password": "a-new-long-passphrase", "current_password": PASSWORD},
        format="json",
    )

    assert missing.status_code == 400
    assert "current_password" in missing.json()
    assert changed.status_code == 200
    user.refresh_from_db()
    assert user.check_password("a-new-long-passphrase")


def test_a_password_change_revokes_older_access_tokens(api, user):
    api.patch(f"/api/v1/users/{user.pk}/", {"password": "a-new-long-passphrase", "current_password": PASSWORD})

    assert api.get("/api/v1/users/me/").status_code == 401


def test_only_admins_delete_users_and_their_sockets_are_closed(api, admin_api, other_user, events):
    refused = api.delete(f"/api/v1/users/{other_user.pk}/")
    deleted = admin_api.delete(f"/api/v1/users/{other_user.pk}/")
    again = admin_api.delete(f"/api/v1/users/{other_user.pk}/")

    assert refused.status_code == 403
    assert deleted.status_code == 204
    assert again.status_code == 404
    assert not User.objects.filter(pk=other_user.pk).exists()
    assert [(e["group"], e.get("close")) for e in events] == [(f"chat.user.{other_user.pk}", 4403)]


def test_an_admin_cannot_delete_themself(admin_api, staff_user):
    assert admin_api.delete(f"/api/v1/users/{staff_user.pk}/").status_code == 403


def test_staff_cannot_take_over_a_superuser(client_for, staff_user):
    moderator = client_for(make_user("mod", is_staff=True))

    password = moderator.patch(f"/api/v1/users/{staff_user.pk}/", {"password": "a-new-long-passphrase"})
    email = moderator.patch(f"/api/v1/users/{staff_user.pk}/", {"email": "mine@example.com"})
    delete = moderator.delete(f"/api/v1/users/{staff_user.pk}/")

    assert [password.status_code, email.status_code, delete.status_code] == [403, 403, 403]
    assert password.json()["code"] == "permission_denied"
    staff_user.refresh_from_db()
    assert staff_user.check_password(PASSWORD)
    assert staff_user.email == ""
