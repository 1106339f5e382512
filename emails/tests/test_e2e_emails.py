"""Missed-message emails end to end: a server enqueues them, a real worker sends them. On PostgreSQL with
Redis and two ``jobs_worker`` processes (email over SMTP to a sink); on SQLite with the server's embedded
worker (email printed by the console backend, as ``make run`` does). See jobs/tests/topology.py."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from jobs.tests.topology import topology
from realtime.tests.e2e import unique, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DELAY = 3  # CHAT_EMAIL_DELAY, in seconds
SITE = "http://chat.test"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Ana mentions five people once (Dan three times) in #general; Cid reads the notification and Fay
    the room at once; Eve turned email off. Then every window ends."""
    with topology(tmp_path_factory.mktemp("emails-e2e"), CHAT_EMAIL_DELAY=str(DELAY), CHAT_SITE_URL=SITE) as running:
        server = running.server
        people = {name: server.sign_up(unique(name)) for name in ("ana", "ben", "cid", "dan", "eve", "fay")}
        names = {}
        for name, (_, token) in people.items():
            status, me = server.request("PATCH", "/api/v1/users/me/", {"email": f"{name}@example.com"}, token)
            assert status == 200, me
            names[name] = me["username"]
        _, eve_token = people["eve"]
        server.request("PATCH", "/api/v1/users/me/", {"preferences": {"notifications": {"email": False}}}, eve_token)

        _, ana = people["ana"]
        sent = {}
        for name, text in [("ben", "the deploy is broken"), ("cid", "ping"), ("eve", "hi"), ("fay", "hi")]:
            status, message = server.request("POST", "/api/v1/messages/", {"content": f"@{names[name]} {text}"}, ana)
            assert status == 201, message
            sent[name] = message
        for text in ("one", "two", "three"):
            server.request("POST", "/api/v1/messages/", {"content": f"@{names['dan']} {text}"}, ana)
        server.request("POST", "/api/v1/notifications/read/", {"all": True}, people["cid"][1])
        server.request("POST", "/api/v1/rooms/general/read/", {}, people["fay"][1])

        def arrived() -> bool:
            return bool(running.emails_to("ben@example.com")) and bool(running.emails_to("dan@example.com"))

        wait_until(arrived, timeout=60, interval=0.2, what="the missed-message emails")
        time.sleep(2)  # ten looks for due jobs: a second email, or a late one, would be here by now
        yield running, names, sent, people


def test_a_mention_left_unread_past_the_delay_is_emailed_exactly_once(scenario):
    running, names, sent, _ = scenario

    (email,) = running.emails_to("ben@example.com")

    assert email["Subject"] == f"{names['ana']} mentioned you in #general"
    text = email.get_body(("plain",)).get_content()
    assert "the deploy is broken" in text
    assert f"{SITE}/#/r/general/{sent['ben']['seq']}" in text
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"{SITE}/#/r/general/{sent['ben']['seq']}" in email.get_body(("html",)).get_content()


def test_several_mentions_in_the_window_make_one_email(scenario):
    running, names, _, _ = scenario

    (email,) = running.emails_to("dan@example.com")

    assert email["Subject"] == f"3 unread messages from {names['ana']}"
    text = email.get_body(("plain",)).get_content()
    assert all(f"@{names['dan']} {word}" in text for word in ("one", "two", "three"))


def test_reading_in_time_or_having_email_off_sends_nothing(scenario):
    running, *_ = scenario

    assert running.emails_to("cid@example.com") == []  # read the notification
    assert running.emails_to("fay@example.com") == []  # read the room
    assert running.emails_to("eve@example.com") == []  # email turned off


def test_the_unsubscribe_link_of_the_email_turns_email_off(scenario):
    running, _, _, people = scenario
    (email,) = running.emails_to("ben@example.com")
    found = re.search(r"<(\S+)>", email["List-Unsubscribe"])
    assert found is not None
    link = found.group(1).replace(SITE, running.server.http)

    with urllib.request.urlopen(link, timeout=10) as page:  # noqa: S310 (loopback)
        assert b'<form method="post">' in page.read()
    one_click = urllib.request.Request(link, data=b"List-Unsubscribe=One-Click", method="POST")  # noqa: S310
    with urllib.request.urlopen(one_click, timeout=10) as done:  # noqa: S310
        assert done.status == 200

    status, ben = running.server.request("GET", "/api/v1/users/me/", token=people["ben"][1])
    assert status == 200
    assert ben["preferences"]["notifications"]["email"] is False
