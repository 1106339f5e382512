"""The web page's conversation features in a real browser (issue 13): grouping and day dividers, edit and
delete seen live by the other person, replies, the server's sanitized html, the unread line and the jump to
it, the theme kept server-side, a desktop notification for a mention in a hidden tab, the image viewer,
the keyboard, the phone layout, and the screenshots in docs/.

Same machinery as test_browser.py (its fixtures: Debian's Chromium, daphne in its own process, one
browser context per person); each page here also fails the test on a console error or a failed request.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatsite.tests import test_browser as base
from chatsite.tests.test_browser import ARTIFACTS, Person, create_room, png, post_message, token_for
from realtime.tests.e2e import BASE_DIR, Server, unique, wait_until

DOCS = BASE_DIR / "docs"
# test_browser.py's fixtures: Debian's Chromium, a daphne server for this module, one context per person.
chromium, browser, site, new_person = base.chromium, base.browser, base.site, base.new_person


def watch(person: Person, problems: list[str]) -> Person:
    """Console errors and failed requests (4xx/5xx or network) of this page end up in ``problems``."""
    page = person.page
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    # A reload aborts what was in flight (ERR_ABORTED): that is the test's doing, not a failure.
    page.on(
        "requestfailed",
        lambda request: (
            problems.append(f"failed: {request.url} {request.failure}")
            if "ERR_ABORTED" not in (request.failure or "")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: problems.append(f"{response.status}: {response.url}") if response.status >= 400 else None,
    )
    return person


@pytest.fixture
def person(new_person) -> Iterator[Any]:
    """A person whose page fails the test on a console error or a failed request, except those the test
    causes on purpose and declares with ``person.allow("409: .../reports/")`` (a part of the problem's text)."""
    problems: list[str] = []
    allowed: list[str] = []

    def make(username: str | None = None, **options: Any) -> Person:
        return watch(new_person(username or unique("p"), **options), problems)

    make.allow = allowed.append  # type: ignore[attr-defined]  # a function attribute: the fixture hands out one callable
    yield make
    unexpected = [problem for problem in problems if not any(part in problem for part in allowed)]
    assert not unexpected, unexpected


def in_room(people: list[Person], slug: str) -> None:
    for someone in people:
        someone.open_room(slug)


def database(site: Server) -> Path:
    return Path(site.env["DATABASE_URL"].removeprefix("sqlite:///"))


def save_docs(page: Any, name: str) -> None:
    """A screenshot for the README (docs/), refreshed when missing or asked for (CHAT_UPDATE_SCREENSHOT)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    if not (DOCS / name).exists() or os.environ.get("CHAT_UPDATE_SCREENSHOT"):
        (DOCS / name).write_bytes((ARTIFACTS / name).read_bytes())


# --- messages ---------------------------------------------------------------------------------------------


def test_messages_are_grouped_by_person_and_divided_by_day(person, site):
    ana, ben = person(display_name="Ana Lima"), person(display_name="Ben Ode")
    token = token_for(site, ana.username)
    slug = create_room(site, token, "Days")
    post_message(site, token, slug, "from the day before yesterday")
    with sqlite3.connect(database(site)) as db:
        db.execute(
            "UPDATE messaging_message SET created_at = datetime('now', '-2 days') WHERE content = ?",
            ("from the day before yesterday",),
        )
    in_room([ana, ben], slug)
    ana.send("first of a run")
    ana.expect_once("first of a run")
    ana.send("second of the run")
    ana.expect_once("second of the run")
    ben.send("Ben answers")
    ben.expect_once("Ben answers")
    ana.send("Ana again")
    page = ana.page
    ana.expect_once("Ana again")

    dividers = page.locator("#messages .day-divider")
    ana.expect(dividers).to_have_count(2)
    ana.expect(dividers.last).to_have_text("Today")
    ana.expect(ana.message("first of a run")).not_to_have_class("msg mine grouped")
    ana.expect(ana.message("second of the run")).to_have_class("msg mine grouped")
    ana.expect(ana.message("Ben answers")).not_to_have_class("msg grouped")
    ana.expect(ana.message("Ana again")).to_have_class("msg mine")
    # Avatars: initials on a stable colour, the same on both pages; the name is still there for screen readers.
    avatar = ben.message("first of a run").locator(".avatar")
    ben.expect(avatar).to_have_text("AL")
    assert avatar.get_attribute("class") == ana.message("first of a run").locator(".avatar").get_attribute("class")
    ben.expect(ben.message("second of the run").locator(".author")).to_have_text("Ana Lima")


def test_an_edit_and_a_delete_are_seen_live_by_the_other_person(person, site):
    ana, ben = person(), person()
    slug = create_room(site, token_for(site, ana.username), "Edits")
    in_room([ana, ben], slug)
    ana.send("a frist draft")
    ana.expect_once("a frist draft", mine=True)
    ben.expect_once("a frist draft", mine=False)

    composer = ana.page.locator("#composer-input")
    composer.press("ArrowUp")  # edits one's last message
    editor = ana.page.get_by_role("textbox", name="Edit message")
    ana.expect(editor).to_be_focused()
    editor.fill("a first draft")
    editor.press("Enter")
    ben.expect(ben.message("a first draft").locator(".edited")).to_have_text(" (edited)")
    ana.expect(ana.message("a first draft").locator(".edited")).to_be_visible()
    ana.expect(composer).to_be_focused()

    # Ben replies to it; the reply names what it answers.
    ben.message("a first draft").hover()
    ben.message("a first draft").get_by_role("button", name="Reply").click()
    ben.expect(ben.page.locator("#reply-bar")).to_contain_text("Replying to")
    ben.send("looks good")
    ana.expect(ana.message("looks good").locator(".reply-ref")).to_contain_text("a first draft")

    # Only one's own messages can be edited; deleting asks first, and Cancel keeps the message.
    assert ana.message("looks good").get_by_role("button", name="Edit your message").count() == 0
    message = ana.page.locator("#messages .msg.mine", has_text="a first draft")
    message.hover()
    message.get_by_role("button", name="Delete your message").click()
    dialog = ana.page.locator("#confirm-dialog")
    ana.expect(dialog).to_be_visible()
    ana.expect(dialog.locator("#confirm-text")).to_have_text("a first draft")
    ana.page.keyboard.press("Escape")
    ana.expect(dialog).to_be_hidden()
    ben.expect(ben.page.locator("#messages .msg:not(.mine)", has_text="a first draft")).to_be_visible()
    message.hover()
    message.get_by_role("button", name="Delete your message").click()
    dialog.get_by_role("button", name="Delete").click()
    deleted = ben.page.locator("#messages .msg.deleted")
    ben.expect(deleted).to_have_count(1)
    ben.expect(deleted).to_contain_text("This message was deleted.")
    ben.expect(ben.page.locator("#messages")).not_to_contain_text("a first draft")
    ben.expect(ben.message("looks good").locator(".reply-ref")).to_contain_text("a deleted message")


def test_sanitized_html_is_rendered_and_plain_text_never_becomes_markup(person, site):
    ana = person()
    page = ana.page
    rendered = page.evaluate(
        """async () => {
        const { messageItem } = await import("/static/chat/messages.js");
        const context = { me: { id: -1, username: "nobody" }, original: () => null };
        const base = { id: 1, seq: 1, room: "r", sender: { id: 2, username: "eve", display_name: "" },
                       created_at: new Date().toISOString(), edited_at: null, reply_to: null, deleted: false,
                       attachments: [] };
        const html = "<p><strong>bold</strong> and <a href='https://example.org/'>a link</a></p>";
        const rich = messageItem({ ...base, content: "**bold** and a link", html }, context);
        const plain = messageItem({ ...base, id: 2, content: "<img src=x onerror=alert(1)> **not bold**" }, context);
        return {
            strong: rich.querySelector(".body strong")?.textContent,
            target: rich.querySelector(".body a")?.target,
            plainImages: plain.querySelectorAll("img").length,
            plainText: plain.querySelector(".body").textContent,
        };
    }"""
    )
    assert rendered == {
        "strong": "bold",
        "target": "_blank",
        "plainImages": 0,
        "plainText": "<img src=x onerror=alert(1)> **not bold**",
    }


# --- unread -------------------------------------------------------------------------------------------------


def test_the_unread_line_and_the_jump_to_it(person, site):
    ana, ben = person(), person()
    token = token_for(site, ana.username)
    slug = create_room(site, token, "Busy")
    post_message(site, token, slug, "read before leaving")
    # Ben read the room on another day (reading makes him a member). The personal socket follows the rooms
    # one was a member of when it connected (live membership changes are the room-management work's).
    status, _ = site.request("POST", f"/api/v1/rooms/{slug}/read/", {"seq": 1}, token=token_for(site, ben.username))
    assert status == 200
    ben.page.reload()
    ben.expect_connected()
    for number in range(1, 46):
        post_message(site, token, slug, f"catch-up message {number:02d}")

    link = ben.page.locator(f"#room-list .room-link[data-room='{slug}']")
    ben.expect(link).to_have_class("room-link unread")  # bold: something unread, no mention
    ben.expect(link.locator(".badge")).to_have_count(0)
    post_message(site, token, slug, f"@{ben.username} the one that matters")
    ben.expect(link.locator(".badge")).to_have_text("1 mention, 46 unread")

    link.click()
    ben.expect_in_room(slug)
    jump = ben.page.get_by_role("button", name="Jump to first unread")
    ben.expect(jump).to_be_visible()  # 46 unread, 30 loaded: the line is not loaded yet
    jump.click()
    divider = ben.page.locator("#unread-divider")
    ben.expect(divider).to_be_focused()
    ben.expect(divider).to_be_in_viewport()
    first_unread = ben.page.locator("#unread-divider + .msg")
    ben.expect(first_unread).to_contain_text("catch-up message 01")
    ben.expect(jump).to_be_hidden()
    ben.expect(link).to_have_class("room-link")  # marked read on view; the page's POST may still be on its way
    unread = None
    for _ in range(50):
        status, rooms = site.request("GET", "/api/v1/rooms/?page_size=100", token=token_for(site, ben.username))
        assert status == 200
        unread = next(room for room in rooms["results"] if room["slug"] == slug)["unread"]
        if unread == 0:
            break
        time.sleep(0.1)
    assert unread == 0


# --- preferences --------------------------------------------------------------------------------------------


def test_the_theme_preference_is_applied_at_once_and_after_a_reload(person, site):
    ana = person(color_scheme="light")
    page = ana.page
    html = page.locator("html")
    ana.expect(html).to_have_attribute("data-theme", "light")
    page.get_by_role("button", name="Profile and preferences").click()
    dialog = page.get_by_role("dialog", name="Profile and preferences")
    ana.expect(dialog).to_be_visible()
    dialog.get_by_label("Dark").check()
    ana.expect(html).to_have_attribute("data-theme", "dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 24, 39)", background
    dialog.get_by_label("Display name").fill("Ana in the dark")
    dialog.get_by_role("button", name="Save profile").click()
    ana.expect(dialog).to_be_hidden()
    ana.expect(page.locator("#me")).to_have_text("Ana in the dark")

    token = token_for(site, ana.username)
    wait_until(
        lambda: site.request("GET", "/api/v1/users/me/", token=token)[1]["preferences"]["theme"] == "dark",
        timeout=10,
        what="saved",
    )
    page.evaluate("localStorage.removeItem('chat-theme')")  # the server's preference, not the browser's memory
    page.reload()
    ana.expect_connected()
    ana.expect(html).to_have_attribute("data-theme", "dark")
    ana.expect(page.locator("#me")).to_have_text("Ana in the dark")


def test_sharing_read_receipts_can_be_turned_off_in_the_preferences(person, site):
    ana = person()
    ana.page.get_by_role("button", name="Profile and preferences").click()
    dialog = ana.page.get_by_role("dialog", name="Profile and preferences")
    receipts = dialog.get_by_label("Show others when I have read their messages")
    ana.expect(receipts).to_be_checked()  # the default: shared

    receipts.uncheck()

    token = token_for(site, ana.username)
    wait_until(
        lambda: site.request("GET", "/api/v1/users/me/", token=token)[1]["preferences"]["share_read_receipts"] is False,
        timeout=10,
        what="saved",
    )


RECORD_NOTIFICATIONS = """
window.__shown = [];
window.__hidden = false;
const Real = window.Notification;
function Recording(title, options) {
  window.__shown.push({ title, body: (options && options.body) || "" });
  try { return new Real(title, options); } catch { return { close() {} }; }
}
Object.defineProperty(Recording, "permission", { get: () => Real.permission });
Recording.requestPermission = (...args) => Real.requestPermission(...args);
window.Notification = Recording;
Object.defineProperty(document, "visibilityState", {
  get: () => (window.__hidden ? "hidden" : "visible"), configurable: true,
});
"""


def test_a_mention_shows_a_desktop_notification_while_the_tab_is_hidden(person, site):
    ana = person()
    ben = person(permissions=["notifications"])
    ben.context.add_init_script(RECORD_NOTIFICATIONS)
    ben.page.reload()
    ben.expect_connected()
    ben.page.get_by_role("button", name="Profile and preferences").click()
    desktop = ben.page.get_by_label("Desktop notifications")
    desktop.check()
    ben.expect(desktop).to_be_checked()
    token = token_for(site, ben.username)
    wait_until(
        lambda: site.request("GET", "/api/v1/users/me/", token=token)[1]["preferences"]["notifications"]["desktop"],
        timeout=10,
        what="saved",
    )
    ben.page.keyboard.press("Escape")

    slug = create_room(site, token_for(site, ana.username), "Pings")
    ana.open_room(slug)
    ana.send("nobody is mentioned here")
    ana.send(f"@{ben.username} while you are visible")  # a visible tab: no desktop notification
    ben.expect(ben.page.locator("#notifications-badge")).to_have_text("1")
    ben.page.evaluate("window.__hidden = true")
    # Another room: a second unread mention in the same room would be coalesced into the first.
    ana.open_room(create_room(site, token_for(site, ana.username), "Pings again"))
    ana.send(f"@{ben.username} are you there?")
    ben.expect(ben.page.locator("#notifications-badge")).to_have_text("2")
    shown = ben.page.evaluate("window.__shown")
    assert len(shown) == 1, shown
    assert "mentioned you" in shown[0]["title"], shown


# --- pictures, keyboard, phone ---------------------------------------------------------------------------------


def test_a_picture_opens_in_the_image_viewer(person, site):
    ana, ben = person(), person()
    slug = create_room(site, token_for(site, ana.username), "Pictures")
    in_room([ana, ben], slug)
    ana.page.locator("#file-input").set_input_files(
        [{"name": "stripes.png", "mimeType": "image/png", "buffer": png(360, 200)}]
    )
    ana.expect(ana.page.locator("#attachments .attachment[data-state=done]")).to_have_count(1)
    ana.send("the stripes")
    thumbnail = ben.message("the stripes").get_by_role("link", name="View stripes.png")
    ben.expect(thumbnail).to_be_visible()
    with ben.page.expect_response(lambda response: "inline=1" in response.url) as full:
        thumbnail.click()
    assert full.value.status == 200
    viewer = ben.page.get_by_role("dialog", name="stripes.png")
    ben.expect(viewer).to_be_visible()
    image = viewer.locator("img")
    wait_until(lambda: image.evaluate("img => img.complete && img.naturalWidth") == 360, timeout=10, what="full image")
    ben.expect(viewer.get_by_role("link", name="Download")).to_have_attribute("download", "stripes.png")
    ben.page.keyboard.press("Escape")
    ben.expect(viewer).to_be_hidden()
    ben.expect(thumbnail).to_be_focused()


def test_rooms_by_keyboard_and_a_new_room_from_its_dialog(person, site):
    ana = person()
    page = ana.page
    page.get_by_role("button", name="New room").click()
    dialog = page.get_by_role("dialog", name="New room")
    name = unique("Kb")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name="Create").click()
    ana.expect(dialog).to_be_hidden()
    ana.expect(page.locator("#room-title")).to_have_text(f"#{name}")
    slug = page.locator("#conversation").get_attribute("data-room")

    page.keyboard.press("Control+k")
    switcher = page.get_by_role("dialog", name="Go to a room")
    ana.expect(switcher).to_be_visible()
    page.keyboard.type("general")
    page.keyboard.press("Enter")
    ana.expect_in_room("general")
    order = page.locator("#room-list .room-link").evaluate_all("links => links.map(link => link.dataset.room)")
    page.keyboard.press("Alt+ArrowDown")
    ana.expect_in_room(order[(order.index("general") + 1) % len(order)])
    page.keyboard.press("Alt+ArrowUp")
    ana.expect_in_room("general")
    assert slug in order


def test_the_phone_layout(person, site):
    ana = person(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ana.page
    ana.send("hello from a small screen")
    ana.expect_once("hello from a small screen", mine=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    message = ana.message("hello from a small screen")
    message.tap()
    ana.expect(message.get_by_role("button", name="Edit your message")).to_be_visible()
    # Everything fits across: the top bar's last control, the message and the Send button.
    for control in (
        page.get_by_role("button", name="Profile and preferences"),
        page.get_by_role("button", name="Send"),
        message,
    ):
        ana.expect(control).to_be_in_viewport(ratio=1)
    page.get_by_role("button", name="Profile and preferences").click()
    ana.expect(
        page.get_by_role("dialog", name="Profile and preferences").get_by_role("button", name="Sign out")
    ).to_be_in_viewport(ratio=1)
    page.keyboard.press("Escape")
    heights = set()
    for slug in ("general", create_room(site, token_for(site, ana.username), "Topicless")):
        ana.open_room(slug)
        heights.add(page.locator(".topbar").evaluate("bar => bar.getBoundingClientRect().height"))
    assert len(heights) == 1, heights


# --- screenshots for the README -------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_page(person, site, scheme):
    size = {"viewport": {"width": 1200, "height": 760}, "color_scheme": scheme}
    ana = person(unique("ana"), display_name="Ana Lima", **size)
    ben = person(unique("ben"), display_name="Ben Ode", **size)
    token = token_for(site, ana.username)
    slug = create_room(site, token, f"Design review {scheme}")
    post_message(site, token, slug, "Yesterday's notes are in the folder.")
    with sqlite3.connect(database(site)) as db:
        db.execute(
            "UPDATE messaging_message SET created_at = datetime('now', '-1 days') WHERE content LIKE 'Yesterday%'"
        )
    status, _ = site.request("POST", f"/api/v1/rooms/{slug}/read/", {"seq": 1}, token=token_for(site, ben.username))
    assert status == 200
    ben.page.reload()  # Ben read yesterday's message on another day
    ben.expect_connected()
    post_message(site, token, slug, "Morning! The new stripes are ready.")
    post_message(site, token, slug, "Orange and blue, 4 px each.")
    post_message(site, token, slug, f"@{ben.username} can you check the contrast?")
    ana.open_room(slug)
    ana.page.locator("#file-input").set_input_files(
        [{"name": "stripes.png", "mimeType": "image/png", "buffer": png(360, 160)}]
    )
    ana.expect(ana.page.locator("#attachments .attachment[data-state=done]")).to_have_count(1)
    ana.send("Here they are")
    link = ben.page.locator(f".room-link[data-room='{slug}']")
    ben.expect(link).to_have_class("room-link unread")  # as Ben sees it before opening the room: bold
    link.click()
    ben.expect_once("Here they are")
    ben.expect(ben.page.locator("#unread-divider + .msg")).to_contain_text("Morning!")
    mention = ben.message("check the contrast")
    mention.hover()
    mention.get_by_role("button", name="Reply").click()
    ben.send("Looks great, thanks!")
    ben.expect_once("Looks great")
    ben.expect(ben.message("Looks great").locator(".reply-ref")).to_contain_text("check the contrast")
    ben.page.mouse.move(600, 10)
    save_docs(ben.page, f"web-{scheme}.png")

    phone = person(
        unique("cy"),
        display_name="Cy Park",
        viewport={"width": 390, "height": 780},
        is_mobile=True,
        has_touch=True,
        color_scheme=scheme,
    )
    phone.open_room(slug)
    phone.expect_once("Looks great")
    save_docs(phone.page, f"web-phone-{scheme}.png")
    phone.page.get_by_role("button", name="Rooms and people").click()
    phone.expect(phone.page.locator("#sidebar")).to_be_in_viewport()
    if scheme == "dark":
        save_docs(phone.page, "web-phone-rooms-dark.png")
