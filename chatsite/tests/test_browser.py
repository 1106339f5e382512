"""The chat page in a real browser: Debian's Chromium driven by Playwright against daphne in its own process.

The server runs as a separate process (realtime.tests.e2e.Server) on a temporary SQLite database with the
in-memory channel layer, after `collectstatic`, so the page, its modules and its stylesheet are served by
whitenoise exactly as in `make run` and in production. Playwright's sync API runs its own event loop, which
Django's async-safety checks would refuse in-process; nothing here touches the ORM.

Chromium comes from the distribution (`scripts/ensure-chromium`, run by `make test`), never from a
Playwright download. Without it these tests skip, or fail when CHAT_REQUIRE_SERVICES is set.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from realtime.tests.e2e import BASE_DIR, Server, migrate, server_env, unique, wait_until

ARTIFACTS = BASE_DIR / "test-artifacts"
SCREENSHOT = BASE_DIR / "docs" / "screenshot.png"
PASSWORD = "browser-long-passphrase"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT = 15_000  # ms, for expectations that wait on the network


def services_required() -> bool:
    return os.environ.get("CHAT_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def png(width: int = 180, height: int = 96) -> bytes:
    """A small valid PNG (orange and blue stripes), without any imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    orange, blue = b"\xe8\x6a\x10", b"\x1d\x4e\xd8"
    rows = b"".join(
        b"\x00" + b"".join(orange if ((x + y) // 12) % 2 else blue for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# --- the page itself, without a browser -------------------------------------------------------------------


def test_the_chat_page_is_served_with_a_csrf_cookie_and_a_strict_policy():
    response = Client().get("/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["Cache-Control"].startswith("max-age=0")
    html = response.content.decode()
    assert '<script type="importmap">' in html
    assert 'id="chat-limits"' in html


def test_the_chat_page_answers_only_safe_methods():
    assert Client().post("/").status_code == 405


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    reason = None
    if path is None:
        reason = "Chromium is not installed (scripts/ensure-chromium installs Debian's package)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (make test installs requirements-dev.txt)"
    if reason:
        if services_required():
            pytest.fail(f"{reason} and CHAT_REQUIRE_SERVICES is set")
        pytest.skip(reason)
    assert path is not None
    return path


def collectstatic() -> None:
    env = {**os.environ, "DJANGO_SECRET_KEY": "collectstatic-for-browser-tests"}
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    subprocess.run(command, cwd=BASE_DIR, env=env, check=True, capture_output=True)


def browser_env(database_url: str, media: Path, **extra: str) -> dict[str, str]:
    env = server_env(database_url=database_url, redis_url="", prefix=unique("browser"), **extra)
    env.pop("REDIS_URL")  # the in-memory channel layer: one process
    env.update(CHAT_SECURE_COOKIES="false", DJANGO_MEDIA_ROOT=str(media), DJANGO_DEBUG="false", CHAT_REPLAY_LIMIT="3")
    return env


@pytest.fixture(scope="module")
def site(chromium, tmp_path_factory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{base / 'db.sqlite3'}"
    migrate(database_url)
    collectstatic()
    server = Server(name="web", env=browser_env(database_url, base / "media"), log_dir=base)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Person:
    """One person in their own browser context (own cookies, own storage)."""

    page: Any
    username: str
    server: Server

    @property
    def context(self) -> Any:
        return self.page.context

    def open_room(self, slug: str) -> None:
        self.page.goto(f"{self.server.http}/#/r/{slug}")
        self.expect_in_room(slug)

    def expect_in_room(self, slug: str) -> None:
        """The room is on screen and its socket is open."""
        conversation = self.page.locator("#conversation")
        self.expect(conversation).to_have_attribute("data-room", slug, timeout=TIMEOUT)
        self.expect(conversation).to_have_attribute("data-socket", "open", timeout=TIMEOUT)

    def send(self, text: str) -> None:
        self.page.locator("#composer-input").fill(text)
        self.page.locator("#composer-input").press("Enter")

    def message(self, text: str) -> Any:
        return self.page.locator("#messages .msg", has_text=text)

    def expect(self, locator: Any) -> Any:
        from playwright.sync_api import expect

        return expect(locator)

    def expect_connected(self) -> None:
        self.expect(self.page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)

    def expect_once(self, text: str, *, mine: bool | None = None) -> None:
        """The message is on screen exactly once, stored (not pending), styled as ours or not."""
        stored = self.page.locator("#messages .msg:not(.pending)", has_text=text)
        self.expect(stored).to_have_count(1, timeout=TIMEOUT)
        self.expect(self.page.locator("#messages .msg.pending", has_text=text)).to_have_count(0, timeout=TIMEOUT)
        if mine is not None:
            assert ("mine" in (stored.get_attribute("class") or "").split()) is mine


@pytest.fixture
def new_person(browser, site) -> Iterator[Any]:
    contexts: list[Any] = []
    errors: list[str] = []

    def make(
        username: str | None = None, *, display_name: str = "", sign_up_in_page: bool = False, **context_options: Any
    ) -> Person:
        username = username or unique("u")
        context = browser.new_context(**{"viewport": {"width": 1100, "height": 720}, **context_options})
        context.set_default_timeout(TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{username}: {error}"))
        page.goto(site.http + "/")
        if sign_up_in_page:
            page.get_by_role("tab", name="Sign up").click()
            page.locator("#signup-username").fill(username)
            page.locator("#signup-password").fill(PASSWORD)
            page.get_by_role("button", name="Create account").click()
        else:
            user = {"username": username, "password": PASSWORD, "display_name": display_name}
            status, body = site.request("POST", "/api/v1/users/", user)
            assert status == 201, body
            page.locator("#signin-username").fill(username)
            page.locator("#signin-password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
        person = Person(page=page, username=username, server=site)
        person.expect(page.locator("#me")).not_to_have_text("", timeout=TIMEOUT)
        person.expect_connected()
        return person

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def token_for(site: Server, username: str) -> str:
    status, tokens = site.request("POST", "/api/v1/auth/token/", {"username": username, "password": PASSWORD})
    assert status == 200, tokens
    return tokens["access"]


def create_room(site: Server, token: str, name: str | None = None) -> str:
    status, room = site.request("POST", "/api/v1/rooms/", {"name": name or unique("Room ")}, token=token)
    assert status == 201, room
    return room["slug"]


def post_message(site: Server, token: str, slug: str, content: str) -> None:
    status, body = site.request("POST", "/api/v1/messages/", {"room": slug, "content": content}, token=token)
    assert status == 201, body


def stored_contents(site: Server, token: str, slug: str) -> list[str]:
    status, page = site.request("GET", f"/api/v1/messages/?room={slug}&limit=100", token=token)
    assert status == 200, page
    return [message["content"] for message in page["results"]]


def save_screenshot(page: Any, name: str, *, docs: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    # The committed screenshot changes only when asked for (or when missing), so a test run leaves
    # the working tree clean.
    if docs and (not SCREENSHOT.exists() or os.environ.get("CHAT_UPDATE_SCREENSHOT")):
        shutil.copyfile(ARTIFACTS / name, SCREENSHOT)


# --- the tests ----------------------------------------------------------------------------------------------


def test_static_files_are_served_by_daphne_with_cache_busting_names(site):
    with urllib.request.urlopen(site.http + "/", timeout=10) as response:  # noqa: S310
        html = response.read().decode()
    scripts = re.findall(r'src="(/static/chat/app\.[0-9a-f]{12}\.js)"', html)
    styles = re.findall(r'href="(/static/chat/app\.[0-9a-f]{12}\.css)"', html)
    assert scripts, html[:2000]
    assert styles, html[:2000]
    for path, kind in ((scripts[0], "javascript"), (styles[0], "text/css")):
        with urllib.request.urlopen(site.http + path, timeout=10) as response:  # noqa: S310
            assert response.status == 200
            assert kind in response.headers["Content-Type"]
            assert "immutable" in response.headers["Cache-Control"]


def test_two_people_sign_up_and_chat_in_real_time_both_ways(new_person, site):
    ana = new_person(unique("ana"), sign_up_in_page=True)
    ben = new_person(unique("ben"), sign_up_in_page=True)
    slug = create_room(site, token_for(site, ana.username), "Real time")
    ana.open_room(slug)
    ben.open_room(slug)
    ana.expect(ana.page.locator("#online-list")).to_contain_text(ben.username)

    ben.page.locator("#composer-input").press_sequentially("Hi", delay=30)
    ana.expect(ana.page.locator("#typing")).to_have_text(f"{ben.username} is typing…")

    ana.send("Hello Ben, from Ana")
    ben.expect_once("Hello Ben, from Ana", mine=False)
    ana.expect_once("Hello Ben, from Ana", mine=True)

    composer = ben.page.locator("#composer-input")
    composer.fill("Hi Ana!")
    composer.press("Shift+Enter")
    composer.press_sequentially("Second line")
    composer.press("Enter")
    ana.expect_once("Second line", mine=False)
    assert ana.message("Second line").locator(".body").inner_text() == "Hi Ana!\nSecond line"
    ben.expect_once("Second line", mine=True)
    ana.expect(ana.page.locator("#typing")).to_have_text("")

    # A reload signs in again with the refresh cookie and shows the history.
    ben.page.reload()
    ben.expect_in_room(slug)
    ben.expect_once("Hello Ben, from Ana", mine=False)
    ben.expect_once("Second line", mine=True)


def test_older_history_loads_when_scrolling_up(new_person, site):
    reader = new_person()
    token = token_for(site, reader.username)
    slug = create_room(site, token, "History")
    for number in range(1, 46):
        post_message(site, token, slug, f"history {number:02d}")
    reader.open_room(slug)
    messages = reader.page.locator("#messages .msg")
    reader.expect(reader.message("history 45")).to_be_visible()
    reader.expect(messages).to_have_count(30)
    reader.expect(reader.page.locator("#history-start")).to_be_hidden()

    reader.page.locator("#scroller").evaluate("scroller => scroller.scrollTo(0, 0)")

    reader.expect(messages).to_have_count(45)
    reader.expect(reader.page.locator("#history-start")).to_be_visible()
    bodies = reader.page.locator("#messages .msg .body").all_inner_texts()
    assert bodies == [f"history {number:02d}" for number in range(1, 46)]


def test_an_upload_appears_for_the_other_person(new_person, site):
    ana = new_person("ana", display_name="Ana")
    ben = new_person("ben", display_name="Ben")
    slug = create_room(site, token_for(site, ana.username), "Design review")
    ana.open_room(slug)
    ben.open_room(slug)
    ben.send("Morning! Do you have the new stripes?")
    ana.expect_once("Morning!", mine=False)

    ana.page.locator("#file-input").set_input_files(
        [
            {"name": "stripes.png", "mimeType": "image/png", "buffer": png()},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Orange and blue, 4 px each.\n"},
        ]
    )
    ana.expect(ana.page.locator("#attachments .attachment[data-state=done]")).to_have_count(2)
    ana.send("@ben here they are, with my notes")

    message = ben.message("here they are")
    picture = message.locator("img[alt='stripes.png']")
    ben.expect(picture).to_be_visible(timeout=TIMEOUT)
    # The image really loaded: the file URL authenticated ben by the access_token cookie.
    wait_until(lambda: picture.evaluate("img => img.complete && img.naturalWidth") == 180, timeout=10, what="image")
    link = message.get_by_role("link", name="notes.txt", exact=False)
    ben.expect(link).to_have_attribute("href", re.compile(r"^/api/v1/files/\d+/$"))
    with ben.page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == b"Orange and blue, 4 px each.\n"
    ben.expect(message.locator(".mention-me")).to_have_text("@ben")
    ana.expect_once("here they are", mine=True)
    ben.send("Lovely, thanks @ana!")
    ana.expect_once("Lovely, thanks", mine=False)
    ben.expect_once("Lovely, thanks", mine=True)
    ben.page.mouse.move(0, 0)
    save_screenshot(ben.page, "chat.png", docs=True)


def test_the_page_recovers_after_a_server_restart_without_losing_a_message(new_person, site):
    ana, ben = new_person(), new_person()
    ana_token = token_for(site, ana.username)
    slug = create_room(site, ana_token, "Restart")
    ana.open_room(slug)
    ben.open_room(slug)
    ana.send("before the restart")
    ben.expect_once("before the restart", mine=False)

    site.stop()
    try:
        for person in (ana, ben):
            person.expect(person.page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
        ana.send("written while the server was down")
        pending = ana.page.locator("#messages .msg.pending", has_text="written while the server was down")
        ana.expect(pending).to_have_attribute("data-state", "queued")
        ben.send("ben wrote this during the outage")
    finally:
        site.start()
    # Usually before the pages are back: they must fetch it with last_seq.
    post_message(site, token_for(site, ben.username), slug, "posted over REST right after the restart")

    for person in (ana, ben):
        person.expect_connected()
        person.expect_in_room(slug)
    ana.expect_once("written while the server was down", mine=True)
    ana.expect_once("ben wrote this during the outage", mine=False)
    ana.expect_once("posted over REST right after the restart", mine=False)
    ben.expect_once("written while the server was down", mine=False)
    ben.expect_once("ben wrote this during the outage", mine=True)
    ben.expect_once("posted over REST right after the restart", mine=True)
    ana.expect_once("before the restart", mine=True)
    assert sorted(stored_contents(site, ana_token, slug)) == sorted(
        [
            "before the restart",
            "written while the server was down",
            "ben wrote this during the outage",
            "posted over REST right after the restart",
        ]
    )


def test_a_mention_notifies_the_mentioned_person(new_person, site):
    ana, ben = new_person(), new_person()
    slug = create_room(site, token_for(site, ana.username), "Mentions")
    ana.open_room(slug)  # ben stays in #general
    badge = ben.page.locator("#notifications-badge")
    toggle = ben.page.locator("#notifications-toggle")
    ben.expect(badge).to_be_hidden()

    ana.send(f"@{ben.username} can you look at this?")

    ben.expect(badge).to_have_text("1")
    ben.expect(toggle).to_have_attribute("aria-label", "Notifications, 1 unread")
    toggle.click()
    panel = ben.page.locator("#notifications-panel")
    ben.expect(panel).to_be_visible()
    ben.expect(panel.locator(".notification.unread")).to_contain_text(f"mentioned you in #{slug}")
    ben.page.keyboard.press("Escape")
    ben.expect(panel).to_be_hidden()
    ben.expect(toggle).to_be_focused()
    ben.page.keyboard.press("Enter")
    ben.expect(panel).to_be_visible()

    panel.locator(".notification-button").first.click()

    ben.expect(panel).to_be_hidden()
    ben.expect(badge).to_be_hidden()
    ben.expect_in_room(slug)
    ben.expect(ben.message("can you look").locator(".mention-me")).to_have_text(f"@{ben.username}")


def test_direct_messages_count_unread_until_opened(new_person, site):
    ana, ben = new_person(), new_person()
    ana.page.locator("#online-list").get_by_role("button", name=re.compile(ben.username)).click()
    ana.expect(ana.page.locator("#room-title")).to_have_text(f"@{ben.username}")
    ana.expect(ana.page.locator("#conversation")).to_have_attribute("data-socket", "open")
    ana.send("psst, a direct message")
    ana.expect_once("psst", mine=True)

    entry = ben.page.locator("#dm-list .room-link", has_text=ana.username)
    ben.expect(entry.locator(".badge")).to_contain_text("1")
    entry.click()
    ben.expect_once("psst", mine=False)
    ben.expect(entry).to_have_attribute("aria-current", "page")
    ben.expect(entry.locator(".badge")).to_have_count(0)


def test_the_connection_indicator_shows_disconnected_and_connected(new_person, site):
    ana = new_person()
    other = token_for(site, new_person().username)
    slug = create_room(site, other, "Offline")
    ana.open_room(slug)
    frames: list[str] = []
    ana.page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    indicator = ana.page.locator("#connection")
    ana.expect(indicator).to_have_text("Connected")

    ana.context.set_offline(True)
    ana.expect(indicator).to_have_attribute("data-state", "disconnected")
    ana.expect(indicator).to_contain_text("Disconnected")
    ana.send("typed while offline")
    ana.expect(ana.page.locator("#messages .msg.pending", has_text="typed while offline")).to_be_visible()
    # More than CHAT_REPLAY_LIMIT: on reconnecting the page is told to resync and pages the gap over REST.
    for number in range(1, 6):
        post_message(site, other, slug, f"missed while offline {number}")

    ana.context.set_offline(False)
    ana.expect(indicator).to_have_attribute("data-state", "connected")
    ana.expect_once("typed while offline", mine=True)
    for number in range(1, 6):
        ana.expect_once(f"missed while offline {number}", mine=False)
    assert any('"resync"' in frame for frame in frames), frames


def test_a_replay_that_keeps_failing_is_paged_over_rest_instead(new_person, site):
    """Every reconnect that asked for the same replay failed (a replay over 1 MiB did, with 1011): the
    page must not ask for that cursor forever but page the gap over REST and resume after it."""
    from urllib.parse import parse_qs, urlsplit

    ana = new_person()
    other = token_for(site, new_person().username)
    slug = create_room(site, other, "Replays")
    post_message(site, other, slug, "before the failures")
    state: dict[str, Any] = {"hold": False, "fail_below": 0, "cursors": [], "routes": []}

    def route(ws: Any) -> None:
        cursor = int(parse_qs(urlsplit(ws.url).query).get("last_seq", ["0"])[0])
        state["cursors"].append(cursor)
        server = ws.connect_to_server()
        ws.on_message(server.send)
        if cursor < state["fail_below"]:
            # As the server did on every try: accepted, then closed with 1011 instead of the replay.
            server.on_message(lambda message: [ws.close(code=1011, reason="replay failed"), server.close()])
            return
        server.on_message(lambda message: None if state["hold"] else ws.send(message))
        state["routes"] = [ws, server]

    ana.page.route_web_socket(lambda url: "/ws/messages/?" in url, route)
    ana.open_room(slug)
    ana.expect_once("before the failures")
    state["hold"] = True  # ana misses what follows, then her socket drops
    for number in range(1, 4):
        post_message(site, other, slug, f"missed {number}")
    state["fail_below"] = 4
    requests: list[str] = []
    ana.page.on("request", lambda request: requests.append(request.url))
    for side in state["routes"]:
        side.close(code=1012)
    state["hold"] = False
    for number in range(1, 4):
        ana.expect_once(f"missed {number}", mine=False)
    ana.expect_in_room(slug)
    post_message(site, other, slug, "live again")
    ana.expect_once("live again", mine=False)
    assert state["cursors"].count(1) >= 2
    assert state["cursors"][-1] == 4
    assert any(f"room={slug}&after=1" in url for url in requests), requests


def test_the_page_fits_a_phone_screen(new_person):
    ana = new_person(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ana.page
    sidebar = page.locator("#sidebar")
    toggle = page.get_by_role("button", name="Rooms and people")
    ana.expect(sidebar).not_to_be_in_viewport()
    toggle.click()
    ana.expect(toggle).to_have_attribute("aria-expanded", "true")
    ana.expect(sidebar).to_be_in_viewport()
    page.keyboard.press("Escape")
    ana.expect(toggle).to_have_attribute("aria-expanded", "false")
    ana.expect(sidebar).not_to_be_in_viewport()
    ana.send("hello from a phone")
    ana.expect_once("hello from a phone", mine=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    save_screenshot(page, "phone.png")


def test_the_access_token_is_refreshed_before_it_expires(browser, site, tmp_path):
    env = browser_env(site.env["DATABASE_URL"], Path(site.env["DJANGO_MEDIA_ROOT"]), CHAT_ACCESS_TOKEN_LIFETIME="6s")
    short = Server(name="short-tokens", env=env, log_dir=tmp_path)
    short.start()
    context = browser.new_context()
    try:
        username = unique("short")
        assert short.request("POST", "/api/v1/users/", {"username": username, "password": PASSWORD})[0] == 201
        page = context.new_page()
        refused: list[str] = []
        refreshed: list[int] = []
        page.on("response", lambda r: refused.append(r.url) if r.status == 401 else None)
        page.on("response", lambda r: refreshed.append(r.status) if r.url.endswith("/token/refresh/") else None)
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(short.http + "/")
        page.locator("#signin-username").fill(username)
        page.locator("#signin-password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        person = Person(page=page, username=username, server=short)
        person.expect_connected()

        deadline = time.monotonic() + 20
        while len(refreshed) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(200)  # Playwright delivers events while one of its calls runs
        assert len(refreshed) >= 2, refreshed
        person.send("still signed in after two refreshes")
        person.expect_once("still signed in after two refreshes", mine=True)
        person.expect_connected()
        assert refreshed == [200] * len(refreshed)
        assert refused == []
        # Each refresh was sent on the open sockets ({"type": "auth"}): the room's and the personal
        # socket were never reopened although every token they opened with has expired.
        assert len(sockets) == 2, sockets
    finally:
        context.close()
        short.stop()
