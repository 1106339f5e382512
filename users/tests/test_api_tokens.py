"""Personal access tokens and bots over REST: issued once, stored hashed, scoped, revocable, expiring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.tests.factories import general
from users import api_tokens
from users.models import ApiToken, AuditEntry, User
from users.tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def issue(user: User, *scopes: str, **fields) -> str:
    return api_tokens.api_token_create(actor=user, name="t", scopes=list(scopes), **fields).text


def test_a_token_is_shown_once_and_stored_hashed(api, user):
    response = api.post("/api/v1/tokens/", {"name": "ci", "scopes": ["read", "write"]}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "scopes", "expires_at", "last_used_at", "created_at", "token"}
    assert body["scopes"] == ["read", "write"]
    assert body["token"].startswith("chat_")
    stored = ApiToken.objects.get(pk=body["id"])
    secret = body["token"].rsplit("_", 1)[1]
    assert secret not in stored.digest
    assert len(stored.digest) == 64
    listed = api.get("/api/v1/tokens/").json()["results"]
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]


def test_a_token_signs_in_and_records_its_use_at_most_once_a_minute(user):
    token = issue(user, "read")
    client = bearer(token)

    assert client.get("/api/v1/users/me/").json()["username"] == user.username
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    client.get("/api/v1/users/me/")
    assert ApiToken.objects.get().last_used_at == first  # not written on every request
    ApiToken.objects.update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/users/me/")
    later = ApiToken.objects.get().last_used_at
    assert later is not None
    assert later > first - timedelta(minutes=1)


def test_a_read_token_cannot_post_and_a_write_token_can(user):
    general()
    read, write = bearer(issue(user, "read")), bearer(issue(user, "write"))

    refused = read.post("/api/v1/messages/", {"content": "hi"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert read.get("/api/v1/messages/").status_code == 200
    assert write.post("/api/v1/messages/", {"content": "hi"}, format="json").status_code == 201


@pytest.mark.parametrize(
    "token",
    ["chat_", "chat_nope", "chat_abc_def", "chat_" + "x" * 300],
)
def test_malformed_or_unknown_tokens_are_401(token):
    response = bearer(token).get("/api/v1/users/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_wrong_secret_with_a_real_prefix_is_refused(user):
    token = issue(user, "read")

    assert bearer(token[:-2] + "zz").get("/api/v1/users/me/").status_code == 401


def test_a_revoked_token_is_refused_at_once(api, user):
    token = issue(user, "read")
    token_id = ApiToken.objects.get().pk

    assert api.delete(f"/api/v1/tokens/{token_id}/").status_code == 204
    assert bearer(token).get("/api/v1/users/me/").status_code == 401
    assert api.delete(f"/api/v1/tokens/{token_id}/").status_code == 404


def test_an_expired_token_is_refused(user):
    token = issue(user, "read", expires_at=timezone.now() + timedelta(seconds=30))
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert bearer(token).get("/api/v1/users/me/").status_code == 401


def test_a_deactivated_users_token_is_refused(user):
    token = issue(user, "read")
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert bearer(token).get("/api/v1/users/me/").status_code == 401


def test_someone_elses_token_cannot_be_revoked(api, other_user):
    issue(other_user, "read")

    assert api.delete(f"/api/v1/tokens/{ApiToken.objects.get().pk}/").status_code == 404
    assert ApiToken.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"name": "x", "scopes": "read"},
        {"name": "", "scopes": ["read"]},
        {"name": "x" * 101, "scopes": ["read"]},
        {"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["read"], "expires_at": "soon"},
        {"scopes": ["read"]},
    ],
)
def test_bad_token_requests_are_400_and_store_nothing(api, body):
    assert api.post("/api/v1/tokens/", body, format="json").status_code == 400
    assert not ApiToken.objects.exists()


def test_only_administrators_get_admin_scoped_tokens(api, admin_api):
    refused = api.post("/api/v1/tokens/", {"name": "x", "scopes": ["admin"]}, format="json")

    assert refused.status_code == 403
    assert admin_api.post("/api/v1/tokens/", {"name": "x", "scopes": ["admin"]}, format="json").status_code == 201


def test_an_admins_token_needs_the_admin_scope_for_admin_endpoints(staff_user, user):
    write, admin = bearer(issue(staff_user, "write")), bearer(issue(staff_user, "admin"))

    assert write.get("/api/v1/audit/").status_code == 403
    assert write.delete(f"/api/v1/users/{user.pk}/").status_code == 403
    assert write.patch(f"/api/v1/users/{user.pk}/", {"role": "guest"}, format="json").status_code == 403
    assert admin.get("/api/v1/audit/").status_code == 200
    # The withheld powers are never stored: the admin stays an admin.
    write.patch("/api/v1/users/me/", {"city": "Porto"}, format="json")
    staff_user.refresh_from_db()
    assert staff_user.is_staff
    assert staff_user.is_superuser
    assert staff_user.role == "admin"
    assert staff_user.city == "Porto"


# Bots


def test_a_bot_is_owned_marked_and_signs_in_with_its_tokens_only(api, user):
    created = api.post("/api/v1/bots/", {"username": "ci-bot", "display_name": "CI"}, format="json")
    assert created.status_code == 201
    bot = created.json()
    assert bot["is_bot"] is True
    assert bot["owner"] == user.pk
    assert bot["role"] == "member"

    issued = api.post(f"/api/v1/bots/{bot['id']}/tokens/", {"name": "ci", "scopes": ["write"]}, format="json")
    assert issued.status_code == 201
    general()
    posted = bearer(issued.json()["token"]).post("/api/v1/messages/", {"content": "build green"}, format="json")
    assert posted.status_code == 201
    assert posted.json()["sender"] == {
        "id": bot["id"], "username": "ci-bot", "display_name": "CI", "role": "member", "is_bot": True, "owner": user.pk
    }  # fmt: skip
    assert [b["id"] for b in api.get("/api/v1/bots/").json()["results"]] == [bot["id"]]


def test_a_bot_cannot_sign_in_with_a_password(api):
    bot_id = api.post("/api/v1/bots/", {"username": "pw-bot"}, format="json").json()["id"]
    bot = User.objects.get(pk=bot_id)
    bot.set_password(PASSWORD)  # even if someone set one in the shell
    bot.save()

    response = APIClient().post("/api/v1/auth/token/", {"username": "pw-bot", "password": PASSWORD}, format="json")

    assert response.status_code == 401


def test_only_the_owner_manages_a_bot(api, other_user):
    bot = api_tokens.bot_create(actor=other_user, username="theirs")

    assert (
        api.post(f"/api/v1/bots/{bot.pk}/tokens/", {"name": "x", "scopes": ["read"]}, format="json").status_code == 404
    )
    assert api.delete(f"/api/v1/bots/{bot.pk}/").status_code == 404
    assert api.get(f"/api/v1/bots/{bot.pk}/").status_code == 404
    assert User.objects.filter(pk=bot.pk).exists()


def test_a_bot_gets_no_admin_scope_and_its_owner_may_delete_it(api, user):
    bot = api_tokens.bot_create(actor=user, username="mine")

    refused = api.post(f"/api/v1/bots/{bot.pk}/tokens/", {"name": "x", "scopes": ["admin"]}, format="json")
    assert refused.status_code == 403
    api_tokens.bot_token_create(actor=user, bot_id=bot.pk, name="x", scopes=["read"])
    assert api.delete(f"/api/v1/bots/{bot.pk}/").status_code == 204
    assert not User.objects.filter(pk=bot.pk).exists()
    assert not ApiToken.objects.exists()
    assert AuditEntry.objects.filter(action="bot.delete", target_id=bot.pk).exists()


def test_the_owner_revokes_a_bots_token(api, user):
    bot = api_tokens.bot_create(actor=user, username="mine")
    issued = api_tokens.bot_token_create(actor=user, bot_id=bot.pk, name="x", scopes=["read"])

    assert api.delete(f"/api/v1/tokens/{issued.token.pk}/").status_code == 204
    assert bearer(issued.text).get("/api/v1/users/me/").status_code == 401


@pytest.mark.parametrize("body", [{"username": ""}, {"username": "a" * 151}, {"display_name": "x"}])
def test_bad_bot_requests_are_400(api, body):
    assert api.post("/api/v1/bots/", body, format="json").status_code == 400
    assert not User.objects.filter(is_bot=True).exists()


def test_a_bot_username_must_be_free(api, other_user):
    assert api.post("/api/v1/bots/", {"username": other_user.username.upper()}, format="json").status_code == 400


def test_guests_cannot_create_bots():
    guest = make_user("guest", role="guest")
    client = APIClient()
    client.force_authenticate(guest)

    assert client.post("/api/v1/bots/", {"username": "g-bot"}, format="json").status_code == 403


def test_a_token_cannot_mint_tokens_or_bots(user):
    client = bearer(issue(user, "write"))

    refused = client.post("/api/v1/tokens/", {"name": "x", "scopes": ["write"]}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert client.post("/api/v1/bots/", {"username": "b"}, format="json").status_code == 403
    assert ApiToken.objects.count() == 1
