"""Every route renders for a person signed in to the site (the browsable API, with session auth).

An administrator signed in to /admin/ who opens an API URL in a browser gets DRF's HTML renderer, which
builds forms and a filter form from the view: code paths that the JSON tests never reach. The routes
are walked from the URL resolver, so a route added later is covered without touching this file.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize

from emails.services import unsubscribe_token
from messaging.models import Room
from messaging.services import direct_room_get_or_create, files_upload, room_join
from messaging.services.moderation import report_create
from messaging.tests.factories import general, make_notification, make_room, png, send

pytestmark = pytest.mark.django_db

HTML = "text/html"
# Paginated lists and plain lists: each must render as a page, not only avoid a 5xx.
LISTS = [
    "/api/v1/users/",
    "/api/v1/rooms/",
    "/api/v1/rooms/general/members/",
    "/api/v1/notifications/",
    "/api/v1/notifications/?unread=1",
    "/api/v1/messages/",
    "/api/v1/connected-users/",
]


def _routes(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        regex = pattern.pattern.regex.pattern.removeprefix("^")
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + regex)
        elif isinstance(pattern, URLPattern):
            yield prefix + regex


def site_routes() -> list[tuple[str, list[str]]]:
    """Every route outside the admin (which has its own tests), as a format string and its parameters."""
    found = []
    for regex in _routes(get_resolver().url_patterns):
        if not regex.startswith("admin/"):
            template, params = normalize(regex)[0]
            found.append(("/" + template, params))
    return found


@pytest.fixture
def site(user, other_user, staff_user) -> dict[str, list[str]]:
    """Objects of every kind the routes take, and the values each URL parameter is tried with."""
    general()
    private = make_room(kind=Room.Kind.PRIVATE, members=(user, staff_user))
    direct, _ = direct_room_get_or_create(actor=staff_user, other=user)
    room_join(actor=user, room=general())
    upload = files_upload(uploader=user, uploads=[png()])[0]
    message = send(user, "hello @root", attachment_ids=[upload.pk])
    send(staff_user, "in private", room=private)
    make_notification(staff_user)
    make_notification(user)
    report = report_create(actor=other_user, message_id=message.pk, reason="spam")
    users = [str(user.pk), str(staff_user.pk)]
    return {
        "pk": users,
        "user_id": users,
        "user_ref": ["me", *users],
        "slug": ["general", private.slug, direct.slug, "nowhere"],
        "message_id": [str(message.pk), "999999"],
        "file_id": [str(upload.pk), "999999"],
        "rest": ["nowhere"],
        "token": [unsubscribe_token(user), "garbage"],
        "emoji": ["%F0%9F%91%8D", ":shipit:", "not-an-emoji"],
        "report_id": [str(report.pk), "999999"],
        "bot_id": users,  # people, not bots: 404 (integrations' own tests cover bots)
        "webhook_id": ["1", "999999"],
        "secret": ["garbage"],
    }


def urls(values: dict[str, list[str]]) -> Iterator[str]:
    for template, params in site_routes():
        unknown = set(params) - set(values)
        assert not unknown, f"{template}: add sample values for {sorted(unknown)} to the site fixture"
        for combination in itertools.product(*(values[name] for name in params)):
            yield template % dict(zip(params, combination, strict=True))


@pytest.mark.parametrize("who", ["staff_user", "user", None])
def test_no_route_is_a_server_error_in_a_browser(client, site, request, who):
    if who:
        client.force_login(request.getfixturevalue(who))
    client.raise_request_exception = False

    failures = []
    for url, method in itertools.product(urls(site), ("get", "options")):
        response = getattr(client, method)(url, HTTP_ACCEPT=HTML)
        if response.status_code >= 500:
            failures.append((method, url, response.status_code))

    assert failures == []


def test_the_walk_reaches_the_api_and_its_aliases(site):
    walked = set(urls(site))

    assert {"/api/v1/rooms/", "/api/v1/rooms/general/members/", "/api/v1/notifications/", "/v1/messages"} <= walked


@pytest.mark.parametrize("url", LISTS)
def test_every_list_renders_as_a_browsable_page(client, site, staff_user, url):
    client.force_login(staff_user)

    response = client.get(url, HTTP_ACCEPT=HTML)

    assert response.status_code == 200
    assert response["Content-Type"].startswith(HTML)
    assert b"results" in response.content or url.endswith("connected-users/")


def test_the_browsable_forms_show_what_each_post_takes(client, site, staff_user):
    client.force_login(staff_user)

    rooms = client.get("/api/v1/rooms/", HTTP_ACCEPT=HTML).content.decode()
    members = client.get("/api/v1/rooms/general/members/", HTTP_ACCEPT=HTML).content.decode()
    notifications = client.get("/api/v1/notifications/", HTTP_ACCEPT=HTML).content.decode()

    assert 'name="name"' in rooms
    assert 'name="kind"' in rooms
    assert 'name="user"' in members
    assert 'name="title"' in notifications


def test_a_bad_unread_flag_is_still_a_400_in_the_browser(client, site, staff_user):
    client.force_login(staff_user)

    response = client.get("/api/v1/notifications/?unread=maybe", HTTP_ACCEPT=HTML)

    assert response.status_code == 400
