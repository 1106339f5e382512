"""back_chat's REST paths and shapes, driven as its clients did: same rules as /api/v1/, old shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rest_framework.test import APIClient

from messaging.models import Attachment, Message
from messaging.services import message_delete
from messaging.tests.factories import PNG_BYTES, big_file, general, png, send, text_file
from users.models import User
from users.tests import test_oidc
from users.tests.factories import PASSWORD, make_user, token_for
from users.tests.test_oidc import provider_token

pytestmark = pytest.mark.django_db

ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
# The OpenID Connect provider of users/tests/test_oidc.py (a real JWKS over HTTP).
clock, jwks, provider = test_oidc.clock, test_oidc.jwks, test_oidc.provider
LEGACY_MESSAGE_KEYS = {
    "user_id",
    "content",
    "timestamp",
    "mtype",
    "isMine",
    "id",
    "seq",
    "room",
    "sender",
    "attachments",
}


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code


def stored_files(settings, folder: str = "") -> list[Path]:
    """Every file under MEDIA_ROOT (or a folder of it: "attachments" holds the originals)."""
    root = Path(settings.MEDIA_ROOT) / folder
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def assert_nothing_stored(settings) -> None:
    assert Attachment.objects.count() == 0
    assert stored_files(settings) == []


# --- GET /api/health ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/health", "/api/health/"])
def test_health_answers_like_healthz(client, path):
    response = client.get(path)

    assert response.status_code == 200
    # back_chat's {"version": ...} included.
    expected = {"database": "ok", "channel_layer": "ok", "version": "1.0.0"}
    assert response.json() == client.get("/healthz").json() == expected


# --- POST /v1/user ----------------------------------------------------------------------------------------


def test_a_back_chat_client_signs_up_with_name_postal_code_and_city(anon_client):
    body = {"name": "carmen", "password": PASSWORD, "postal_code": "28001", "city": "Madrid"}

    response = anon_client.post("/v1/user", body, format="json")

    assert response.status_code == 200
    created = response.json()
    assert (created["name"], created["username"]) == ("carmen", "carmen")
    assert (created["postal_code"], created["city"]) == ("28001", "Madrid")
    assert "password" not in created
    user = User.objects.get(username="carmen")
    assert user.check_password(PASSWORD)
    token = anon_client.post("/api/v1/auth/token/", {"username": "carmen", "password": PASSWORD}, format="json")
    assert token.status_code == 200


def test_the_trailing_slash_spelling_is_served_too(anon_client):
    response = anon_client.post("/v1/user/", {"name": "dora", "password": PASSWORD}, format="json")

    assert response.status_code == 200


def test_a_password_is_required_as_on_the_new_api(anon_client, admin_api):
    anonymous = anon_client.post("/v1/user", {"name": "eve", "postal_code": "1", "city": "X"}, format="json")
    admin = admin_api.post("/v1/user", {"name": "eve"}, format="json")

    assert anonymous.status_code == admin.status_code == 400
    assert set(anonymous.json()) == {"password"}
    assert not User.objects.filter(username="eve").exists()


def test_a_taken_name_is_reported_under_name(anon_client, user):
    response = anon_client.post("/v1/user", {"name": "ALICE", "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_a_weak_password_is_refused_as_on_the_new_api(anon_client):
    response = anon_client.post("/v1/user", {"name": "frank", "password": "123"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "name"),
        ({"name": {"first": "x"}, "password": PASSWORD}, "name"),
        ({"name": "bad name!", "password": PASSWORD}, "name"),
        ({"name": "gina", "password": PASSWORD, "postal_code": ["1"]}, "postal_code"),
        ({"name": "gina", "password": PASSWORD, "city": "x" * 101}, "city"),
    ],
)
def test_missing_or_wrongly_typed_fields_are_400(anon_client, body, field):
    response = anon_client.post("/v1/user", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.filter(username="gina").exists()


def test_malformed_json_is_400_parse_error(anon_client):
    response = anon_client.generic("POST", "/v1/user", b'{"name": "x",', content_type="application/json")

    assert_json_error(response, 400, "parse_error")


def test_a_body_that_is_not_an_object_is_400(anon_client):
    response = anon_client.post("/v1/user", ["name", "x"], format="json")

    assert response.status_code == 400


def test_a_form_body_is_415(anon_client):
    response = anon_client.post("/v1/user", {"name": "hugo", "password": PASSWORD}, format="multipart")

    assert_json_error(response, 415, "unsupported_media_type")


def test_closed_sign_up_holds_for_the_legacy_path(anon_client, api, admin_api, settings):
    settings.CHAT_SIGNUP_OPEN = False
    body = {"name": "ivan", "password": PASSWORD}

    anonymous = anon_client.post("/v1/user", body, format="json")
    member = api.post("/v1/user", body, format="json")
    admin = admin_api.post("/v1/user", body, format="json")

    assert anonymous.status_code == 401
    assert member.status_code == 403
    assert admin.status_code == 200
    assert User.objects.filter(username="ivan").count() == 1


def test_admin_flags_need_an_admin_as_on_the_new_api(anon_client, admin_api):
    refused = anon_client.post("/v1/user", {"name": "jack", "password": PASSWORD, "is_staff": True}, format="json")
    granted = admin_api.post("/v1/user", {"name": "kate", "password": PASSWORD, "is_staff": True}, format="json")

    assert_json_error(refused, 403, "permission_denied")
    assert not User.objects.filter(username="jack").exists()
    assert granted.status_code == 200
    assert User.objects.get(username="kate").is_staff


# --- GET /v1/users/, PUT|DELETE /v1/users/{id} -----------------------------------------------------------------


def test_users_are_a_bare_list_with_name_and_no_private_fields(api, user):
    make_user("bob", postal_code="08001", city="Barcelona", email="bob@example.com")

    response = api.get("/v1/users/")

    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    assert set(rows) == {"alice", "bob"}
    assert rows["bob"]["city"] == "Barcelona"
    assert "postal_code" not in rows["bob"]
    assert "email" not in rows["bob"]
    assert all("password" not in row for row in rows.values())
    assert api.get("/v1/users").json() == response.json()


def test_listing_users_needs_a_token(anon_client):
    assert_json_error(anon_client.get("/v1/users/"), 401, "not_authenticated")


def test_a_user_updates_their_own_profile_with_back_chats_fields(api, user):
    response = api.put(f"/v1/users/{user.pk}", {"name": "alicia", "city": "Sevilla"}, format="json")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["city"]) == ("alicia", "Sevilla")
    user.refresh_from_db()
    assert (user.username, user.city) == ("alicia", "Sevilla")


def test_updating_someone_else_is_403_and_an_admin_may(api, admin_api, other_user):
    refused = api.put(f"/v1/users/{other_user.pk}", {"city": "Nowhere"}, format="json")
    allowed = admin_api.put(f"/v1/users/{other_user.pk}", {"city": "Bilbao"}, format="json")

    assert_json_error(refused, 403, "permission_denied")
    assert allowed.status_code == 200
    other_user.refresh_from_db()
    assert other_user.city == "Bilbao"


def test_renaming_to_a_taken_name_is_reported_under_name(api, user, other_user):
    response = api.put(f"/v1/users/{user.pk}", {"name": "Bob"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"city": 5}, None), ({"postal_code": {"a": 1}}, "postal_code"), ({"is_staff": "x"}, "is_staff")],
)
def test_wrongly_typed_updates_are_400(api, user, body, field):
    response = api.put(f"/v1/users/{user.pk}", body, format="json")

    if field is None:  # numbers become text, as on /api/v1/users/{id}/
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert field in response.json()


def test_updating_with_malformed_json_is_400(api, user):
    response = api.generic("PUT", f"/v1/users/{user.pk}", b"{nope", content_type="application/json")

    assert_json_error(response, 400, "parse_error")


@pytest.mark.parametrize("path", ["/v1/users/999999", "/v1/users/abc", "/v1/users/" + "9" * 30, "/v1/nothing"])
def test_unknown_ids_and_paths_are_json_404(api, path):
    assert_json_error(api.put(path, {"city": "x"}, format="json"), 404, "not_found")
    assert_json_error(api.delete(path), 404, "not_found")


def test_deleting_a_user_is_admin_only_now(api, other_user):
    response = api.delete(f"/v1/users/{other_user.pk}")

    assert_json_error(response, 403, "permission_denied")
    assert User.objects.filter(pk=other_user.pk).exists()


def test_an_admin_deletes_a_user(admin_api, other_user):
    response = admin_api.delete(f"/v1/users/{other_user.pk}")

    assert response.status_code == 200
    assert response.json() == {"detail": "User deleted.", "id": other_user.pk}
    assert not User.objects.filter(pk=other_user.pk).exists()


def test_an_admin_cannot_delete_themself(admin_api, staff_user):
    assert_json_error(admin_api.delete(f"/v1/users/{staff_user.pk}"), 403, "permission_denied")


# --- GET|DELETE /v1/messages --------------------------------------------------------------------------------


def test_messages_are_the_ten_newest_of_general_oldest_first_in_back_chats_shape(api, user, other_user):
    general()
    for number in range(12):
        send(user if number % 2 else other_user, f"message {number}")

    response = api.get("/v1/messages")

    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list)
    assert [row["content"] for row in rows] == [f"message {n}" for n in range(2, 12)]
    assert all(set(row) == LEGACY_MESSAGE_KEYS for row in rows)
    assert all(row["mtype"] == "message" for row in rows)
    assert [row["isMine"] for row in rows] == [n % 2 == 1 for n in range(2, 12)]
    assert [row["user_id"] for row in rows] == ["alice" if n % 2 else "bob" for n in range(2, 12)]
    stored = Message.objects.get(content="message 11")
    assert rows[-1]["timestamp"] == stored.created_at.isoformat().replace("+00:00", "Z")
    assert [row["seq"] for row in rows] == sorted(row["seq"] for row in rows)


def test_is_mine_is_per_caller(api, other_api, user):
    general()
    send(user, "mine")

    assert api.get("/v1/messages").json()[0]["isMine"] is True
    assert other_api.get("/v1/messages").json()[0]["isMine"] is False


def test_deleted_messages_are_left_out(api, user):
    general()
    kept = send(user, "kept")
    gone = send(user, "gone")
    message_delete(actor=user, message_id=gone.pk)

    assert [row["id"] for row in api.get("/v1/messages").json()] == [kept.pk]


def test_the_new_history_parameters_work_on_the_legacy_path(api, user):
    general()
    messages = [send(user, f"m{n}") for n in range(5)]

    rows = api.get("/v1/messages", {"limit": 2, "before": messages[3].seq}).json()

    assert [row["content"] for row in rows] == ["m1", "m2"]


@pytest.mark.parametrize(("query", "status"), [({"limit": "ten"}, 400), ({"before": -1}, 400), ({"room": "nope"}, 404)])
def test_bad_history_parameters_are_json_errors(api, query, status):
    general()

    response = api.get("/v1/messages", query)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"


def test_messages_need_a_token(anon_client):
    assert_json_error(anon_client.get("/v1/messages"), 401, "not_authenticated")


def test_posting_to_the_legacy_messages_path_is_405(api):
    assert_json_error(api.post("/v1/messages", {"content": "x"}, format="json"), 405, "method_not_allowed")


def test_deleting_messages_is_admin_only_now(api, user):
    general()
    send(user, "stays")

    response = api.delete("/v1/messages")

    assert_json_error(response, 403, "permission_denied")
    assert Message.objects.count() == 1


def test_an_admin_deletes_every_message(admin_api, user):
    general()
    send(user, "one")
    send(user, "two")

    response = admin_api.delete("/v1/messages")

    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert admin_api.get("/v1/messages").json() == []


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/"])
def test_cookie_authenticated_deletes_must_pass_csrf(staff_user, path):
    general()
    send(staff_user, "stays")
    client = APIClient(enforce_csrf_checks=True)
    client.cookies["access_token"] = token_for(staff_user)

    refused = client.delete(path)
    client.get("/api/v1/auth/csrf/")
    accepted = client.delete(path, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)

    assert_json_error(refused, 403, "permission_denied")
    assert "CSRF" in refused.json()["detail"]
    assert accepted.json() == {"deleted": 1}


# --- POST /v1/upload-files/ ---------------------------------------------------------------------------------


def upload(client, *files, path: str = "/v1/upload-files/"):
    return client.post(path, {"files": list(files)}, format="multipart")


def test_several_files_parts_are_uploaded_and_named(api, user, settings):
    response = upload(api, png("a.png"), text_file("b.txt"))

    assert response.status_code == 200
    body = response.json()
    assert body["uploaded_files"] == ["a.png", "b.txt"]
    assert [(f["name"], f["content_type"]) for f in body["files"]] == [("a.png", "image/png"), ("b.txt", "text/plain")]
    assert body["files"][0]["url"] == f"/api/v1/files/{body['files'][0]['id']}/"
    assert Attachment.objects.filter(uploader=user).count() == 2
    assert len(stored_files(settings, "attachments")) == 2
    assert api.get(body["files"][0]["url"]).status_code == 200


def test_the_same_name_twice_never_overwrites_or_appends(api, settings):
    first = upload(api, png("same.png")).json()["files"][0]
    second = upload(api, png("same.png"), path="/v1/upload-files").json()["files"][0]

    assert first["id"] != second["id"]
    assert [p.read_bytes() for p in stored_files(settings, "attachments")] == [PNG_BYTES, PNG_BYTES]


def test_a_file_over_the_limit_is_413_and_nothing_is_stored(api, settings):
    settings.CHAT_MAX_UPLOAD_BYTES = 100

    response = upload(api, png("a.png"), big_file(101))

    assert_json_error(response, 413, "too_large")
    assert_nothing_stored(settings)


def test_a_refused_type_is_415_and_nothing_is_stored(api, settings):
    settings.CHAT_UPLOAD_DENIED_TYPES = ["application/x-executable"]

    response = upload(api, png("a.png"), text_file("tool.txt", ELF_BYTES))

    assert_json_error(response, 415, "unsupported_media_type")
    assert_nothing_stored(settings)


def test_too_many_files_is_400_and_nothing_is_stored(api, settings):
    settings.CHAT_MAX_UPLOAD_FILES = 2

    response = upload(api, png("a.png"), png("b.png"), png("c.png"))

    assert_json_error(response, 400, "too_many_files")
    assert_nothing_stored(settings)


def test_no_file_is_400_and_a_json_body_is_415(api, settings):
    assert_json_error(api.post("/v1/upload-files/", {}, format="multipart"), 400, "no_file")
    assert_json_error(api.post("/v1/upload-files/", {"files": []}, format="json"), 415, "unsupported_media_type")
    assert_nothing_stored(settings)


def test_uploading_needs_a_token(anon_client, settings):
    assert_json_error(upload(anon_client, png()), 401, "not_authenticated")
    assert_nothing_stored(settings)


# --- GET /v1/user-info ------------------------------------------------------------------------------------


def test_user_info_is_the_local_tokens_claims(user):
    token = token_for(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get("/v1/user-info")

    assert response.status_code == 200
    claims = response.json()
    assert str(claims["user_id"]) == str(user.pk)
    assert claims["token_type"] == "access"
    assert {"exp", "iat", "jti"} <= set(claims)
    signature = token.rsplit(".", 1)[1]
    assert signature not in response.content.decode()


def test_user_info_works_with_the_cookie_too(user):
    client = APIClient()
    client.cookies["access_token"] = token_for(user)

    response = client.get("/v1/user-info")

    assert response.status_code == 200
    assert response.json()["token_type"] == "access"


def test_user_info_is_the_providers_claims_for_an_oidc_token(provider):
    token = provider_token()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get("/v1/user-info")

    assert response.status_code == 200
    claims = response.json()
    assert claims["sub"] == "0b6c6f5e-provider-ana"
    assert claims["preferred_username"] == "ana"
    assert claims["name"] == "Ana García"
    assert token.rsplit(".", 1)[1] not in response.content.decode()


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic YWxpY2U6eA=="])
def test_user_info_without_a_valid_token_is_401(authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)

    response = client.get("/v1/user-info")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_user_info_with_an_admin_session_is_401_not_500(client, staff_user):
    # Signed in to /admin/: the request is authenticated, but by no token, so there are no claims.
    client.force_login(staff_user)

    response = client.get("/v1/user-info")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- GET /v1/connected-users, GET /ws/connected_users --------------------------------------------------------


@pytest.fixture
def connected(monkeypatch, user, other_user):
    clients = [f"{user.pk}@127.0.0.1:5001", f"{user.pk}@127.0.0.1:5002", f"{other_user.pk}@10.0.0.2:6001"]
    monkeypatch.setattr("realtime.presence.connected_clients", lambda: clients)
    return clients


def test_connected_users_in_back_chats_shape(api, connected):
    response = api.get("/v1/connected-users")

    assert response.status_code == 200
    rows = response.json()
    assert [(row["name"], row["status"]) for row in rows] == [("alice", "online"), ("bob", "online")]
    assert rows[0]["connections"] == 2
    assert all(row["lastConnection"].endswith("Z") for row in rows)


def test_connected_clients_in_back_chats_shape(api, connected):
    response = api.get("/ws/connected_users")

    assert response.status_code == 200
    assert response.json() == {"connected_users": connected}


@pytest.mark.parametrize("path", ["/v1/connected-users", "/ws/connected_users", "/v1/user-info"])
def test_connection_lists_need_a_token(anon_client, path):
    assert_json_error(anon_client.get(path), 401, "not_authenticated")


# --- the schema -------------------------------------------------------------------------------------------


def test_every_legacy_operation_is_documented_as_deprecated(client):
    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]

    legacy = {
        "/v1/user": {"post"},
        "/v1/users/": {"get"},
        "/v1/users/{user_id}": {"put", "delete"},
        "/v1/messages": {"get", "delete"},
        "/v1/upload-files/": {"post"},
        "/v1/user-info": {"get"},
        "/v1/connected-users": {"get"},
        "/ws/connected_users": {"get"},
    }
    for path, methods in legacy.items():
        assert set(paths[path]) == methods, path
        for method in methods:
            assert paths[path][method]["deprecated"] is True
            assert paths[path][method]["operationId"].startswith("legacy_")
    assert "/v1/messages/" not in paths  # the other spelling is served, not documented twice
    assert not any(
        operation.get("deprecated")
        for path in paths
        if path.startswith("/api/v1/")
        for operation in paths[path].values()
    )


def test_a_legacy_client_reads_what_a_new_client_posted(api, other_user):
    general()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(other_user)}")
    posted = other.post("/api/v1/messages/", {"content": "from the new API"}, format="json").json()

    [row] = api.get("/v1/messages").json()

    assert (row["id"], row["user_id"], row["isMine"]) == (posted["id"], "bob", False)
