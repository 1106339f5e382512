"""Input that cannot be parsed or stored, on every REST path: deeply nested JSON, NUL characters and
unpaired surrogates, in bodies and in query strings. Always a 400 in JSON, never stored, never a 500.

(PostgreSQL refuses NUL in text and SQLite stores it; an unpaired surrogate cannot be encoded as
UTF-8 for either. The suite runs on both.) Text fields of bodies are refused by their serializer
field (DRF's CharField refuses both), as a field error; the path and query string by
core.middleware; nesting by core.parsers.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from messaging.models import Message, Notification, Room
from messaging.tests.factories import general
from users.models import User
from users.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
SURROGATE = "a\ud800b"
NESTED = "[" * 50_000
FORM = "application/x-www-form-urlencoded"


def post_raw(client, url: str, raw: str | bytes, method: str = "POST"):
    return client.generic(method, url, raw, content_type="application/json")


def assert_field_refused(response, field: str, text: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    expected = "Null characters are not allowed." if "\x00" in text else "Surrogate characters are not allowed: U+D800."
    assert expected in response.json()[field], response.json()


def assert_parse_error(response) -> Any:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "parse_error"
    return body


@pytest.fixture
def message(user):
    from messaging import services

    return services.message_send(sender=user, room=general(), content="hello").message


def nested_targets(user) -> list[tuple[str, str]]:
    return [
        ("POST", "/api/v1/auth/token/"),
        ("POST", "/api/v1/auth/token/refresh/"),
        ("POST", "/api/v1/users/"),
        ("PATCH", "/api/v1/users/me/"),
        ("POST", "/api/v1/messages/"),
        ("POST", "/api/v1/rooms/"),
        ("POST", "/api/v1/notifications/"),
        ("POST", "/v1/user"),
        ("PUT", f"/v1/users/{user.pk}"),
    ]


def test_deeply_nested_json_is_a_parse_error_on_every_endpoint(api, anon_client, user):
    for method, url in nested_targets(user):
        client = anon_client if "auth" in url or url in {"/api/v1/users/", "/v1/user"} else api

        body = assert_parse_error(post_raw(client, url, NESTED, method))

        assert "nested" in body["detail"], (url, body)


def test_json_nested_past_the_depth_limit_is_refused_even_when_it_parses(anon_client):
    document: dict[str, Any] = {"username": "deep", "password": PASSWORD, "preferences": {}}
    inner = document["preferences"]
    for _ in range(100):
        inner["x"] = {}
        inner = inner["x"]

    assert_parse_error(post_raw(anon_client, "/api/v1/users/", json.dumps(document)))
    assert not User.objects.filter(username="deep").exists()


def test_ordinary_nesting_is_accepted(api):
    response = api.patch("/api/v1/users/me/", {"preferences": {"notifications": {"sound": False}}}, format="json")

    assert response.status_code == 200, response.content


SIGN_UP_FIELDS = ["username", "password", "display_name", "city", "postal_code"]
TEXTS = pytest.mark.parametrize("text", [NUL, SURROGATE], ids=["nul", "surrogate"])


@TEXTS
@pytest.mark.parametrize("field", SIGN_UP_FIELDS)
def test_sign_up_refuses_unstorable_text_in_every_field(anon_client, field, text):
    document = {"username": "newcomer", "password": PASSWORD, field: text}

    assert_field_refused(post_raw(anon_client, "/api/v1/users/", json.dumps(document)), field, text)

    assert not User.objects.exists()


@TEXTS
@pytest.mark.parametrize("field", ["display_name", "city", "postal_code", "username"])
def test_profile_updates_refuse_unstorable_text(api, user, field, text):
    before = User.objects.values(field).get(pk=user.pk)

    assert_field_refused(post_raw(api, "/api/v1/users/me/", json.dumps({field: text}), "PATCH"), field, text)
    assert_field_refused(post_raw(api, f"/api/v1/users/{user.pk}/", json.dumps({field: text}), "PUT"), field, text)

    assert User.objects.values(field).get(pk=user.pk) == before


@TEXTS
def test_unstorable_text_in_preferences_is_refused(api, user, text):
    before = User.objects.get(pk=user.pk).preferences

    for preferences in [{"timezone": text}, {"theme": text}, {"language": text}, {text: "x"}]:
        response = post_raw(api, "/api/v1/users/me/", json.dumps({"preferences": preferences}), "PATCH")

        assert response.status_code == 400, (preferences, response.content)
        assert "preferences" in response.json()

    assert User.objects.get(pk=user.pk).preferences == before


@TEXTS
def test_a_password_change_refuses_unstorable_text(api, user, text):
    document = {"password": text + "-long-enough", "current_password": PASSWORD}

    assert_field_refused(post_raw(api, "/api/v1/users/me/", json.dumps(document), "PATCH"), "password", text)

    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@TEXTS
def test_sign_in_refuses_unstorable_text(anon_client, user, text):
    response = post_raw(anon_client, "/api/v1/auth/token/", json.dumps({"username": text, "password": "x"}))

    assert_field_refused(response, "username", text)


@TEXTS
@pytest.mark.parametrize("field", ["name", "topic", "slug"])
def test_rooms_refuse_unstorable_text(api, field, text):
    document = {"name": "Plans", "kind": "public", field: text}

    assert_field_refused(post_raw(api, "/api/v1/rooms/", json.dumps(document)), field, text)

    assert not Room.objects.exclude(slug="general").exists()


@TEXTS
@pytest.mark.parametrize("field", ["content", "client_id", "room"])
def test_messages_refuse_unstorable_text(api, field, text):
    general()
    document = {"content": "hi", field: text}

    assert_field_refused(post_raw(api, "/api/v1/messages/", json.dumps(document)), field, text)

    assert not Message.objects.exists()


@TEXTS
def test_a_message_edit_refuses_unstorable_text(api, message, text):
    response = post_raw(api, f"/api/v1/messages/{message.pk}/", json.dumps({"content": text}), "PATCH")

    assert_field_refused(response, "content", text)
    message.refresh_from_db()
    assert message.content == "hello"


@TEXTS
@pytest.mark.parametrize("field", ["title", "body"])
def test_notifications_refuse_unstorable_text(api, other_user, field, text):
    general()
    document = {"to": [other_user.pk], "title": "t", field: text}

    assert_field_refused(post_raw(api, "/api/v1/notifications/", json.dumps(document)), field, text)

    assert not Notification.objects.exists()


@TEXTS
@pytest.mark.parametrize("field", ["name", "password", "city", "postal_code"])
def test_the_back_chat_aliases_refuse_unstorable_text(anon_client, api, user, field, text):
    document = {"name": "legacy", "password": PASSWORD, field: text}

    assert_field_refused(post_raw(anon_client, "/v1/user", json.dumps(document)), field, text)
    assert_field_refused(post_raw(api, f"/v1/users/{user.pk}", json.dumps({field: text}), "PUT"), field, text)

    assert not User.objects.filter(username="legacy").exists()
    assert User.objects.get(pk=user.pk).username == "alice"


def test_form_and_multipart_bodies_with_nul_are_refused(anon_client):
    for data_format in ["multipart", None]:
        document = {"username": "formed", "password": PASSWORD, "city": NUL}
        if data_format is None:
            response = anon_client.post("/api/v1/users/", urlencode(document), content_type=FORM)
        else:
            response = anon_client.post("/api/v1/users/", document, format=data_format)

        assert_field_refused(response, "city", NUL)

    assert not User.objects.filter(username="formed").exists()


@pytest.mark.parametrize(
    "text",
    ["\ud800", "a\udfffb"],
)
def test_an_unpaired_surrogate_echoed_in_an_error_is_escaped_not_a_500(api, text):
    response = post_raw(api, "/api/v1/rooms/", json.dumps({"name": "x", "kind": text}))

    assert response.status_code == 400
    assert response.content.isascii()
    assert response.json() == {"kind": [f'"{text}" is not a valid choice.']}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/users/?search=%00",
        "/v1/users/?search=%00",
        "/api/v1/messages/?room=%00",
        "/api/v1/messages/?room=general&before=%00",
        "/api/v1/notifications/?unread=%00",
        "/api/v1/rooms/?x%00=1",
        "/v1/messages?room=%00",
        "/api/v1/users/%00/",
    ],
)
def test_nul_in_the_path_or_a_query_parameter_is_a_400(api, url):
    general()

    body = assert_parse_error(api.get(url))

    assert body["detail"] == "The path and query parameters may not contain NUL characters."


def test_an_ordinary_search_still_works(api, other_user):
    response = api.get("/api/v1/users/?search=bo")

    assert response.status_code == 200
    assert [u["username"] for u in response.json()["results"]] == ["bob"]


def test_every_view_parses_json_with_the_bounded_parser():
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.parsers import JSONParser as DrfJSONParser
    from rest_framework.views import APIView

    from core.parsers import JSONParser

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                yield getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)

    api_views = {view for view in views(get_resolver().url_patterns) if view and issubclass(view, APIView)}
    json_parsers = {
        (view.__name__, parser.__name__)
        for view in api_views
        for parser in view.parser_classes
        if issubclass(parser, DrfJSONParser) and not issubclass(parser, JSONParser)
    }

    assert len(api_views) > 20
    assert json_parsers == set()
