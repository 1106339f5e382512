"""Moderation and read receipts on the web page in a real browser (issue 13): a moderator bans a member,
who sees the room go; a mute and an announcement room, each refusing the member's message with the reason
in the composer; a report that reaches the moderator's queue and is resolved there (with the
already-reported and too-fast answers); "Seen by" listing the reader. Two or three people in separate
browser contexts; same machinery as test_browser_features.py, so every page fails the test on a console
error or a failed request, except those a test causes on purpose (``person.allow``).
"""

from __future__ import annotations

from typing import Any

from chatsite.tests import test_browser as base
from chatsite.tests import test_browser_page as page_tests
from chatsite.tests.test_browser import Person, create_room, post_message, token_for
from chatsite.tests.test_browser_features import in_room, sidebar_room, toolbar
from realtime.tests.e2e import Server, wait_until

chromium, browser, site, new_person = base.chromium, base.browser, base.site, base.new_person
person = page_tests.person


def join(site: Server, someone: Person, slug: str) -> None:
    status, body = site.request("POST", f"/api/v1/rooms/{slug}/members/", {}, token=token_for(site, someone.username))
    assert status == 201, body


def moderate(moderator: Person, member: str) -> Any:
    """Open the room dialog and the ban/mute dialog for ``member`` (a display name); the dialog."""
    moderator.page.get_by_role("button", name="Room settings and members").click()
    room = moderator.page.locator("#room-dialog")
    room.get_by_role("button", name=f"Ban or mute {member}").click()
    dialog = moderator.page.locator("#moderate-dialog")
    moderator.expect(dialog.get_by_label("Mute")).to_be_focused()
    return dialog


def test_a_moderator_bans_a_member_who_sees_the_room_go(person, site):
    ana, ben = person(display_name="Ana"), person(display_name="Ben")
    slug = create_room(site, token_for(site, ana.username), "Banning")
    join(site, ben, slug)
    in_room([ana, ben], slug)
    ben.send("buy my stuff")
    ana.expect_once("buy my stuff")
    # Ben's page has marked it read (else that request could meet the ban: a 404, by the test's timing).
    ben_token = token_for(site, ben.username)
    wait_until(
        lambda: site.request("GET", f"/api/v1/rooms/{slug}/", token=ben_token)[1]["last_read_seq"] == 1,
        timeout=10,
        what="Ben's read position",
    )

    dialog = moderate(ana, "Ben")
    dialog.get_by_label("Ban").check()
    dialog.get_by_label("For how long").select_option(label="For good")
    dialog.get_by_label("Reason").fill("spam")
    dialog.get_by_role("button", name="Ban Ben").click()
    ana.expect(dialog).to_be_hidden()

    notice = ben.page.locator("#room-notice")
    ben.expect(notice).to_have_text("You were removed from #Banning by a moderator.")
    ben.expect_in_room("general")
    ben.expect(sidebar_room(ben, "Banning")).to_have_count(0)

    room = ana.page.locator("#room-dialog")
    ana.expect(room.get_by_role("list", name="Members", exact=True).locator(".member")).to_have_count(1)  # Ana
    banned = room.locator(".sanction[data-kind=ban]")
    ana.expect(banned).to_contain_text("Banned for good")
    ana.expect(banned).to_contain_text("spam")
    banned.get_by_role("button", name="Lift the ban of Ben").click()
    ana.expect(room.locator(".sanctions")).to_have_text("Nobody is banned or muted here.")
    join(site, ben, slug)  # lifted: Ben may join again

    # Removing a member (a public room: they may come back) is in the member list too.
    room.get_by_role("button", name="Close").click()
    ana.page.get_by_role("button", name="Room settings and members").click()
    members = room.get_by_role("list", name="Members", exact=True).locator(".member")
    ana.expect(members).to_have_count(2)
    room.get_by_role("button", name="Remove Ben").click()
    ana.expect(members).to_have_count(1)


def test_a_mute_and_an_announcement_room_say_why_a_message_is_refused(person, site):
    ana, ben = person(display_name="Ana"), person(display_name="Ben")
    slug = create_room(site, token_for(site, ana.username), "Muting")
    join(site, ben, slug)
    in_room([ana, ben], slug)

    dialog = moderate(ana, "Ben")
    dialog.get_by_label("For how long").select_option(label="1 hour")
    dialog.get_by_label("Reason").fill("cool down")
    dialog.get_by_role("button", name="Mute Ben").click()
    room = ana.page.locator("#room-dialog")
    ana.expect(room.locator(".sanction[data-kind=mute]")).to_contain_text("Muted until")

    ben.send("can I still talk?")
    composer_notice = ben.page.locator("#composer-notice")
    ben.expect(composer_notice).to_have_text("You are muted in this room.")
    ben.expect(ben.message("can I still talk?")).to_have_attribute("data-state", "failed")
    described = "composer-notice composer-help"
    ben.expect(ben.page.locator("#composer-input")).to_have_attribute("aria-describedby", described)

    # Lifted, then an announcement room: Ben's next message is refused for that reason instead.
    room.get_by_role("button", name="Lift the mute of Ben").click()
    ana.expect(room.locator(".sanctions")).to_have_text("Nobody is banned or muted here.")
    room.get_by_label("Announcement room: only moderators post").check()
    ana.expect(room.get_by_role("status").filter(has_text="Only moderators post here now.")).to_be_visible()
    ben.send("and now?")
    ben.expect(composer_notice).to_have_text("Only moderators may post in this room.")
    room.get_by_label("Announcement room: only moderators post").uncheck()
    ana.expect(room.get_by_role("status").filter(has_text="Everyone posts here again.")).to_be_visible()
    ben.send("back to normal")
    ana.expect_once("back to normal")
    ben.expect(composer_notice).to_be_hidden()


def test_a_report_reaches_the_moderators_queue_and_is_resolved(person, site):
    ana, ben, cara = person(display_name="Ana"), person(display_name="Ben"), person(display_name="Cara")
    slug = create_room(site, token_for(site, ana.username), "Reports")
    for member in (ben, cara):
        join(site, member, slug)
    in_room([ana, ben, cara], slug)
    cara.send("cheap watches, click here")
    ben.expect_once("cheap watches")
    ana.expect_once("cheap watches")
    reports = ana.page.get_by_role("button", name="Reports")
    ana.expect(reports).to_be_visible()  # Ana owns the room
    assert ben.page.locator("#reports-button").is_hidden()  # Ben moderates nothing

    toolbar(ben, "cheap watches", "Report the message from Cara")
    dialog = ben.page.locator("#report-dialog")
    reason = dialog.get_by_label("Why should the moderators look at it?")
    ben.expect(reason).to_be_focused()
    reason.fill("spam")
    dialog.get_by_role("button", name="Send report").click()
    thanks = "Thank you: the message was reported to the room's moderators."
    ben.expect(ben.page.locator("#room-notice")).to_have_text(thanks)

    ana.expect(ana.page.locator("#reports-button .badge")).to_have_text("1")
    ana.expect(reports).to_have_attribute("aria-label", "Reports, 1 open")
    reports.click()
    queue = ana.page.locator("#reports-dialog")
    report = queue.locator(".report")
    ana.expect(report).to_have_count(1)
    ana.expect(report.locator(".report-message")).to_contain_text("cheap watches, click here")
    ana.expect(report.locator(".report-reason")).to_contain_text("spam")
    ana.expect(report.locator(".report-reason")).to_contain_text("reported by Ben")
    page_tests.save_docs(ana.page, "web-reports.png")
    report.get_by_role("button", name="Show in the room").click()
    ana.expect(queue).to_be_hidden()
    ana.expect(ana.message("cheap watches")).to_be_focused()
    reports.click()
    queue.locator(".report").get_by_role("button", name="Resolve").click()
    ana.expect(queue.locator("#reports-status")).to_have_text("Report resolved. No open reports.")
    ana.expect(ana.page.locator("#reports-button .badge")).to_be_hidden()

    # Reporting what one has already reported (still open), and reporting too fast, say so.
    cara.send("more spam")
    ben.expect_once("more spam")
    toolbar(ben, "more spam", "Report the message from Cara")
    reason.fill("again")
    dialog.get_by_role("button", name="Send report").click()
    ben.expect(ben.page.locator("#room-notice")).to_contain_text("reported to the room's moderators")
    person.allow("/reports/")  # the two refusals below: 409 and 429
    person.allow("the server responded with a status of 409")
    person.allow("the server responded with a status of 429")
    toolbar(ben, "more spam", "Report the message from Cara")
    reason.fill("and again")
    dialog.get_by_role("button", name="Send report").click()
    already = "You have already reported this message: the moderators have it."
    ben.expect(dialog.locator("#report-error")).to_have_text(already)
    dialog.get_by_role("button", name="Cancel").click()

    cara_token, ben_token = token_for(site, cara.username), token_for(site, ben.username)
    for number in range(20):  # Ben spends his report budget (CHAT_REPORT_RATE) over REST
        post_message(site, cara_token, slug, f"filler {number}")
        status, page = site.request("GET", f"/api/v1/messages/?room={slug}&limit=1", token=ben_token)
        assert status == 200, page
        newest = page["results"][-1]["id"]
        if site.request("POST", f"/api/v1/messages/{newest}/reports/", {"reason": "x"}, token=ben_token)[0] == 429:
            break
    else:
        raise AssertionError("the report budget never ran out")
    cara.send("the last straw")
    ben.expect_once("the last straw")
    toolbar(ben, "the last straw", "Report the message from Cara")
    reason.fill("too much")
    dialog.get_by_role("button", name="Send report").click()
    ben.expect(dialog.locator("#report-error")).to_contain_text("Wait a few minutes, then try again.")


def test_seen_by_lists_who_has_read_a_message(person, site):
    ana, ben, cara = person(display_name="Ana"), person(display_name="Ben"), person(display_name="Cara")
    slug = create_room(site, token_for(site, ana.username), "Receipts")
    for member in (ben, cara):
        join(site, member, slug)
    in_room([ana, ben], slug)  # Cara has not opened the room: she has not read it
    ana.send("did you read the plan?")
    ben.expect_once("did you read the plan?")
    message_id = ana.message("did you read the plan?").get_attribute("data-id")
    token = token_for(site, ana.username)

    def read_by_ben() -> bool:
        status, readers = site.request("GET", f"/api/v1/messages/{message_id}/readers/", token=token)
        return status == 200 and ben.username in [reader["username"] for reader in readers]

    wait_until(read_by_ben, timeout=10, what="Ben's read position")
    toolbar(ana, "did you read the plan?", "Who has seen this message")
    popover = ana.page.locator("#readers-popover")
    ana.expect(popover).to_be_visible()
    ana.expect(popover.locator("#readers-title")).to_have_text("Seen by 1")
    ana.expect(popover.locator(".readers li")).to_have_text(["Ben"])
    page_tests.save_docs(ana.page, "web-seen-by.png")
    ana.page.keyboard.press("Escape")
    ana.expect(popover).to_be_hidden()
    seen_by = ana.message("did you read the plan?").get_by_role("button", name="Who has seen this message")
    ana.expect(seen_by).to_be_focused()  # back where it was opened
