"""The conversation features on the web page in a real browser (issue 13, items 2 to 4 and the html and
edit history of item 1): formatting, threads, reactions, pins, search, edit history, private rooms, group
direct messages, leaving a room and rooms changed by others, each with two or three people in separate
browser contexts. Same machinery as test_browser.py; every page here also fails the test on a console
error or a failed request (test_browser_page.watch).
"""

from __future__ import annotations

from typing import Any

from chatsite.tests import test_browser as base
from chatsite.tests import test_browser_page as page_tests
from chatsite.tests.test_browser import Person, create_room, post_message, token_for

chromium, browser, site, new_person = base.chromium, base.browser, base.site, base.new_person
person = page_tests.person


def in_room(people: list[Person], slug: str) -> None:
    for someone in people:
        someone.open_room(slug)


def toolbar(someone: Person, text: str, action: str) -> None:
    """Click a button in a message's hover toolbar."""
    message = someone.message(text)
    message.hover()
    message.locator(".msg-actions").get_by_role("button", name=action).click()


def sidebar_room(someone: Person, label: str) -> Any:
    return someone.page.locator("#sidebar .room-link", has_text=label)


def test_formatting_and_links_render_and_a_script_stays_inert(person, site):
    ana, ben = person(), person()
    slug = create_room(site, token_for(site, ana.username), "Formatting")
    in_room([ana, ben], slug)
    ana.send(
        "**bold plan** and `code` at https://example.com "
        "<script>window.pwned = 1</script> <img src=x onerror=window.pwned=2>"
    )
    ana.expect_once("bold plan")
    body = ben.message("bold plan").locator(".body")
    ben.expect(body.locator("strong")).to_have_text("bold plan")
    ben.expect(body.locator("code")).to_have_text("code")
    ben.expect(body.locator("a[href='https://example.com']")).to_have_attribute("rel", "noopener noreferrer nofollow")
    ben.expect(body).to_contain_text("<script>window.pwned = 1</script>")  # shown as text
    assert ben.page.locator("#messages script, #messages img[onerror]").count() == 0
    assert ben.page.evaluate("window.pwned") is None


def test_a_thread_conversation_in_the_side_panel(person, site):
    ana, ben = person(display_name="Ana"), person(display_name="Ben")
    slug = create_room(site, token_for(site, ana.username), "Threads")
    in_room([ana, ben], slug)
    ana.send("Lunch at 12:30?")
    ben.expect_once("Lunch at 12:30?")

    toolbar(ben, "Lunch at 12:30?", "Open the thread")
    panel = ben.page.locator("#thread-panel")
    ben.expect(panel).to_be_visible()
    ben.expect(panel.locator(".thread-root")).to_contain_text("Lunch at 12:30?")
    ben.expect(panel.get_by_role("textbox", name="Reply in the thread")).to_be_focused()
    panel.get_by_role("textbox", name="Reply in the thread").fill("Yes, the usual place")
    panel.get_by_role("textbox", name="Reply in the thread").press("Enter")
    ben.expect(panel.locator(".thread-msg")).to_have_count(2)

    # Ana sees the count on the root, opens the thread, answers; Ben's open panel gets it live.
    summary = ana.message("Lunch at 12:30?").locator(".thread-summary button")
    ana.expect(summary).to_have_text("1 reply")
    summary.click()
    ana_panel = ana.page.locator("#thread-panel")
    ana.expect(ana_panel.locator(".thread-msg", has_text="Yes, the usual place")).to_have_count(1)
    ana_panel.get_by_role("textbox", name="Reply in the thread").fill("See you there")
    ana_panel.get_by_role("button", name="Reply").click()
    ben.expect(panel.locator(".thread-msg", has_text="See you there")).to_have_count(1)
    ben.expect(ben.message("Lunch at 12:30?").locator(".thread-summary button")).to_have_text("2 replies")
    ben.expect(panel.locator("#thread-title")).to_have_text("Thread · 2 replies")
    page_tests.save_docs(ben.page, "web-thread.png")
    follow = panel.locator("#thread-follow")
    ben.expect(follow).to_have_attribute("aria-pressed", "true")
    follow.click()
    ben.expect(follow).to_have_attribute("aria-pressed", "false")
    panel.press("Escape")
    ben.expect(panel).to_be_hidden()


def test_reactions_from_two_people_count_live(person, site):
    ana, ben = person(), person()
    slug = create_room(site, token_for(site, ana.username), "Reactions")
    in_room([ana, ben], slug)
    ana.send("Shipped the release")
    ben.expect_once("Shipped the release")

    toolbar(ana, "Shipped the release", "Add a reaction")
    ana.page.locator("#emoji-dialog").get_by_role("button", name="thumbs up").click()
    ben_thumbs = ben.message("Shipped the release").locator(".reaction", has_text="👍")
    ben.expect(ben_thumbs).to_have_attribute("aria-pressed", "false")
    ben.expect(ben_thumbs.locator(".count")).to_have_text("1")
    ben_thumbs.click()
    ana_thumbs = ana.message("Shipped the release").locator(".reaction", has_text="👍")
    ana.expect(ana_thumbs.locator(".count")).to_have_text("2")
    ben.expect(ben_thumbs).to_have_attribute("aria-pressed", "true")
    ana.expect(ana_thumbs).to_have_attribute("aria-label", "👍 2 reactions, including yours")

    toolbar(ben, "Shipped the release", "Add a reaction")
    ben.expect(ben.page.locator("#emoji-dialog").get_by_role("button", name="thumbs up")).to_be_focused()
    ben.page.keyboard.press("ArrowRight")
    ben.expect(ben.page.locator("#emoji-dialog").get_by_role("button", name="thumbs down")).to_be_focused()
    ben.page.locator("#emoji-dialog").get_by_role("button", name="party").click()
    ana.expect(ana.message("Shipped the release").locator(".reaction")).to_have_count(2)
    ana_thumbs.click()  # Ana takes hers back
    ben.expect(ben_thumbs.locator(".count")).to_have_text("1")


def test_a_pin_is_seen_live_and_listed(person, site):
    ana, ben = person(), person()
    slug = create_room(site, token_for(site, ana.username), "Pins")
    in_room([ana, ben], slug)
    ana.send("The wifi password is on the fridge")
    ana.send("unrelated chatter")
    ben.expect_once("unrelated chatter")
    toolbar(ana, "wifi password", "Pin this message")
    ben.expect(ben.message("wifi password").locator(".pinned-tag")).to_have_text("Pinned")
    ben.page.get_by_role("button", name="Pinned messages").click()
    dialog = ben.page.locator("#pins-dialog")
    ben.expect(dialog.locator(".result")).to_have_count(1)
    ben.expect(dialog.locator(".result")).to_contain_text("wifi password")
    dialog.locator(".result").click()
    ben.expect(ben.message("wifi password")).to_be_focused()

    toolbar(ana, "wifi password", "Unpin this message")
    ben.expect(ben.message("wifi password").locator(".pinned-tag")).to_have_count(0)


def test_search_jumps_to_an_old_message_in_context(person, site):
    ana = person()
    token = token_for(site, ana.username)
    slug = create_room(site, token, "Archive of facts")
    post_message(site, token, slug, "the zebrafish experiment started today")
    for number in range(80):
        post_message(site, token, slug, f"filler message {number:02d}")
    other = create_room(site, token, "Other facts")
    post_message(site, token, other, "a zebrafish in another room")
    ana.open_room("general")
    ana.page.locator("#scroller").focus()
    ana.page.keyboard.press("/")
    search = ana.page.get_by_role("searchbox", name="Words to find")
    ana.expect(search).to_be_focused()
    search.fill("zebrafi")
    dialog = ana.page.locator("#search-dialog")
    ana.expect(dialog.locator(".search-group")).to_have_count(2)
    ana.expect(dialog.locator(".search-group h3")).to_have_text(["#Other facts", "#Archive of facts"])
    ana.expect(dialog.locator("mark").first).to_have_text("zebrafish")
    page_tests.save_docs(ana.page, "web-search.png")
    dialog.get_by_label("Only in this room").check()  # general: nothing there
    ana.expect(dialog.locator("#search-status")).to_have_text("Nothing found.")
    dialog.get_by_label("Only in this room").uncheck()
    dialog.locator(".result", has_text="experiment").click()

    ana.expect_in_room(slug)
    target = ana.message("the zebrafish experiment started today")
    ana.expect(target).to_be_focused()
    ana.expect(target).to_be_in_viewport()
    ana.expect(ana.page.locator("#messages .msg")).to_have_count(81)


def test_the_edit_history_opens_from_the_edited_marker(person, site):
    ana, ben = person(), person()
    token = token_for(site, ana.username)
    slug = create_room(site, token, "History")
    in_room([ana, ben], slug)
    ana.send("meeting at 3")
    ben.expect_once("meeting at 3")
    message_id = ben.message("meeting at 3").get_attribute("data-id")
    status, _ = site.request("PATCH", f"/api/v1/messages/{message_id}/", {"content": "meeting at **4**"}, token=token)
    assert status == 200
    edited = ben.message("meeting at 4").locator(".edited")
    ben.expect(edited).to_have_text(" (edited)")
    edited.get_by_role("button").click()
    dialog = ben.page.locator("#history-dialog")
    ben.expect(dialog.locator(".versions li")).to_have_count(2)
    ben.expect(dialog.locator(".versions li").first).to_contain_text("Original")
    ben.expect(dialog.locator(".versions li").first).to_contain_text("meeting at 3")
    ben.expect(dialog.locator(".versions .current strong")).to_have_text("4")


def test_a_private_room_appears_live_for_a_member_added_later(person, site):
    ana, ben = person(), person()
    ana.open_room("general")
    ben.open_room("general")
    ana.page.get_by_role("button", name="New room").click()
    ana.page.locator("#new-room-name").fill("Secret plans")
    ana.page.get_by_label("Private").check()
    ana.page.locator("#new-room-dialog").get_by_role("button", name="Create").click()
    ana.expect(ana.page.locator("#room-title")).to_have_text("#Secret plans")
    ana.expect_in_room(ana.page.url.rsplit("/", 1)[1])
    ana.expect(sidebar_room(ana, "Secret plans")).to_contain_text("private")
    ana.expect(ana.page.locator("#conversation")).to_have_attribute("data-socket", "open")
    ana.send("just us for now")
    ana.expect_once("just us for now")
    ana.expect(sidebar_room(ben, "Secret plans")).to_have_count(0)

    ana.page.get_by_role("button", name="Room settings and members").click()
    dialog = ana.page.locator("#room-dialog")
    ana.expect(dialog.locator(".member")).to_have_count(1)
    ana.expect(dialog.locator(".member")).to_contain_text("owner")
    dialog.get_by_label("Add someone (username)").fill(ben.username)
    dialog.get_by_role("button", name="Add", exact=True).click()
    ana.expect(dialog.locator(".member")).to_have_count(2)

    ben.expect(sidebar_room(ben, "Secret plans")).to_have_count(1)
    sidebar_room(ben, "Secret plans").click()
    ben.expect_once("just us for now")

    # A rename by the owner reaches the member live, in the side panel and the open room's header.
    dialog.get_by_label("Name", exact=True).fill("Secret plans 2")
    dialog.get_by_label("Topic", exact=True).fill("Surprise party")
    dialog.get_by_role("button", name="Save").click()
    ben.expect(ben.page.locator("#room-title")).to_have_text("#Secret plans 2")
    ben.expect(ben.page.locator("#room-topic")).to_have_text("Surprise party")
    dialog.get_by_label("Archived").check()
    dialog.get_by_role("button", name="Save").click()
    ben.expect(ben.page.locator("#room-topic")).to_have_text("Archived (read only) · Surprise party")
    ben.expect(ben.page.locator("#conversation")).to_have_attribute("data-archived", "true")


def test_a_group_direct_message(person, site):
    ana, ben, cara = person(display_name="Ana"), person(display_name="Ben"), person(display_name="Cara")
    for someone in (ana, ben, cara):
        someone.open_room("general")
    ana.page.get_by_role("button", name="New group conversation").click()
    dialog = ana.page.locator("#group-dialog")
    for other in (ben, cara):
        dialog.get_by_label("Add people by name or username").fill(other.username)
        dialog.get_by_role("button", name=f"(@{other.username})").click()
    ana.expect(dialog.locator(".chip")).to_have_count(2)
    dialog.get_by_role("button", name="Start conversation").click()
    ana.page.wait_for_url("**/#/r/dm-g-*")
    ana.expect_in_room(ana.page.url.rsplit("/", 1)[1])
    ana.send("hello you two")
    ana.expect_once("hello you two")
    for other in (ben, cara):
        link = other.page.locator("#dm-list .room-link", has_text=ana.username)
        other.expect(link).to_have_count(1)
        link.click()
        other.expect_once("hello you two")
    cara.send("hi both")
    ben.expect_once("hi both")
    ana.expect_once("hi both")


def test_leaving_a_room_and_joining_it_again_from_the_browser(person, site):
    ana, ben = person(), person()
    slug = create_room(site, token_for(site, ana.username), "Leavers")
    ben.open_room("general")
    ben.page.get_by_role("button", name="Browse public rooms").click()
    ben.page.locator("#browse-dialog").get_by_role("button", name="Join #Leavers").click()
    ben.expect_in_room(slug)
    ben.send("hello, I joined")
    ben.expect_once("hello, I joined")
    ben.page.get_by_role("button", name="Room settings and members").click()
    ben.expect(ben.page.locator("#room-dialog .member")).to_have_count(2)
    ben.page.locator("#room-dialog").get_by_role("button", name="Leave room").click()
    ben.expect_in_room("general")

    ben.page.get_by_role("button", name="Browse public rooms").click()
    join = ben.page.locator("#browse-dialog").get_by_role("button", name="Join #Leavers")
    ben.expect(join).to_be_visible()
    join.click()
    ben.expect_in_room(slug)

    # A room deleted by its owner disappears from the others' side panel live.
    ana.open_room("general")
    ben.open_room("general")
    ben.expect(sidebar_room(ben, "Leavers")).to_have_count(1)
    ana.open_room(slug)
    ana.page.get_by_role("button", name="Room settings and members").click()
    delete = ana.page.locator("#room-dialog").get_by_role("button", name="Delete room")
    delete.click()
    ana.page.locator("#room-dialog").get_by_role("button", name="Delete for everyone, with its messages?").click()
    ana.expect_in_room("general")
    ben.expect(sidebar_room(ben, "Leavers")).to_have_count(0)
