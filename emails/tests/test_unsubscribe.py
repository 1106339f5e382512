"""The one-click unsubscribe link: a signed token, a GET confirmation page, a POST that turns email off."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django.test import Client

from emails.models import MissedMessage
from emails.services import UNSUBSCRIBE_SALT, unsubscribe_token
from jobs.testing import drain
from messaging.tests.factories import send
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ben(db):
    return make_user("ben", display_name="Ben", email="ben@example.com")


def url(token: str) -> str:
    return f"/email/unsubscribe/{token}/"


def email_on(user) -> bool:
    user.refresh_from_db()
    return user.preferences["notifications"]["email"]


def test_the_link_in_an_email_turns_email_off_after_a_confirmation(settings, ben, client):
    settings.CHAT_EMAIL_DELAY = 0
    send(make_user("ana"), "@ben hello")
    drain()
    found = re.search(r"Stop these emails: http://\S+?(/email/unsubscribe/\S+)", str(mail.outbox[0].body))
    assert found is not None
    link = found.group(1)

    page = client.get(link)

    assert page.status_code == 200
    assert b'<form method="post">' in page.content
    assert email_on(ben)  # a GET (a link scanner, a preview) changes nothing
    done = client.post(link)
    assert done.status_code == 200
    assert b"no more missed-message emails" in done.content
    assert not email_on(ben)
    send(make_user("cid"), "@ben again")
    assert not MissedMessage.objects.filter(message__content="@ben again").exists()


def test_one_click_post_from_a_mail_client_needs_no_session_or_csrf_token(ben):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        url(unsubscribe_token(ben)),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert not email_on(ben)


def test_unsubscribing_twice_is_fine_and_keeps_other_preferences(ben, client):
    ben.preferences["theme"] = "dark"
    ben.save()

    client.post(url(unsubscribe_token(ben)))
    response = client.post(url(unsubscribe_token(ben)))

    assert response.status_code == 200
    ben.refresh_from_db()
    assert ben.preferences["theme"] == "dark"
    assert ben.preferences["notifications"]["mentions"] is True


def _altered(token: str) -> str:
    last = "A" if token[-1] != "A" else "B"
    return token[:-1] + last


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(_altered, id="last-character-changed"),
        pytest.param(
            lambda token: token.replace(token.split(":")[0], signing.b64_encode(b'{"u":424242}').decode()),
            id="other-user-payload",
        ),
        pytest.param(lambda token: signing.dumps({"u": 1}, salt="another.salt"), id="other-salt"),
        pytest.param(
            lambda token: signing.dumps({"u": 1}, salt=UNSUBSCRIBE_SALT, key="not-our-secret"), id="other-key"
        ),
        pytest.param(lambda token: "garbage", id="garbage"),
        pytest.param(lambda token: token + "x" * 300, id="too-long"),
        pytest.param(lambda token: signing.dumps("1", salt=UNSUBSCRIBE_SALT), id="not-an-object"),
        pytest.param(lambda token: signing.dumps({"u": True}, salt=UNSUBSCRIBE_SALT), id="boolean-id"),
        pytest.param(lambda token: signing.dumps({"u": "1"}, salt=UNSUBSCRIBE_SALT), id="string-id"),
        pytest.param(lambda token: signing.dumps({"u": 10**30}, salt=UNSUBSCRIBE_SALT), id="huge-id"),
        pytest.param(lambda token: signing.dumps({"u": 999999}, salt=UNSUBSCRIBE_SALT), id="no-such-user"),
    ],
)
def test_a_forged_altered_or_malformed_token_is_refused_and_changes_nothing(ben, client, forge):
    token = forge(unsubscribe_token(ben))

    for response in (client.get(url(token)), client.post(url(token))):
        assert response.status_code == 400
        assert b"This link is not valid" in response.content
    assert email_on(ben)


def test_a_token_of_one_user_only_unsubscribes_that_user(ben, client):
    other = make_user("other", email="other@example.com")

    client.post(url(unsubscribe_token(other)))

    assert email_on(ben)
    assert not email_on(other)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_refused(ben, client, method):
    response = getattr(client, method)(url(unsubscribe_token(ben)))

    assert response.status_code == 405
    assert email_on(ben)


def test_a_path_without_a_token_is_not_found(client):
    assert client.get("/email/unsubscribe//").status_code == 404
