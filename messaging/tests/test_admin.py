import json
import os

import pytest

from messaging.models import Message, Room
from messaging.services import files_upload
from messaging.tests.factories import general, make_room, png, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize("model", ["room", "message", "attachment", "notification"])
def test_changelists_load(admin_client, user, model):
    send(user, "@bob hello")

    assert admin_client.get(f"/admin/messaging/{model}/").status_code == 200


def test_messages_are_searchable_and_filterable(admin_client, user, other_user):
    send(user, "needle in a haystack")
    send(other_user, "hay")

    found = admin_client.get("/admin/messaging/message/", {"q": "needle"})
    by_sender = admin_client.get("/admin/messaging/message/", {"sender__id__exact": other_user.pk})

    assert b"needle in a haystack" in found.content
    assert b"hay</td>" in by_sender.content
    assert b"needle" not in by_sender.content


def test_purge_action_deletes_selected_messages(admin_client, user):
    keep = send(user, "keep")
    gone = send(user, "gone")

    admin_client.post(
        "/admin/messaging/message/", {"action": "purge_selected", "_selected_action": [gone.pk]}, follow=True
    )

    assert list(Message.objects.values_list("pk", flat=True)) == [keep.pk]


def test_room_purge_action(admin_client, user):
    send(user, "x")

    admin_client.post("/admin/messaging/room/", {"action": "purge_rooms", "_selected_action": [general().pk]})

    assert Message.objects.count() == 0


def test_attachments_show_size_type_and_a_working_download_link(admin_client, user):
    attachment = files_upload(uploader=user, uploads=[png("pic.png")])[0]

    listing = admin_client.get("/admin/messaging/attachment/")
    download = admin_client.get(f"/admin/messaging/attachment/{attachment.pk}/download/")

    assert b"image/png" in listing.content
    assert b"download</a>" in listing.content
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")


def test_the_thumbnail_of_an_attachment_cannot_be_replaced_in_the_admin(admin_client, user):
    attachment = files_upload(uploader=user, uploads=[png("pic.png")])[0]

    page = admin_client.get(f"/admin/messaging/attachment/{attachment.pk}/change/")

    assert page.status_code == 200
    assert b'name="thumbnail"' not in page.content
    assert b'name="file"' not in page.content


def test_non_staff_cannot_use_the_admin_download(client, user):
    attachment = files_upload(uploader=user, uploads=[png()])[0]
    client.force_login(user)

    response = client.get(f"/admin/messaging/attachment/{attachment.pk}/download/")

    assert response.status_code == 302  # to the admin login


# --- Writes go through the services, so sockets are told ------------------------------------------


def purges(events) -> list[dict]:
    frames = [json.loads(event["frame"]) for event in events if "frame" in event]
    return [frame for frame in frames if frame["type"] == "messages_purged"]


def test_messages_cannot_be_edited_in_the_admin(admin_client, user):
    message = send(user, "as sent")

    page = admin_client.get(f"/admin/messaging/message/{message.pk}/change/")
    edit = admin_client.post(
        f"/admin/messaging/message/{message.pk}/change/", {"content": "rewritten", "is_deleted": "on"}
    )

    assert page.status_code == 200
    assert b'name="content"' not in page.content
    assert edit.status_code == 403
    message.refresh_from_db()
    assert (message.content, message.is_deleted, message.edited_at) == ("as sent", False, None)


def test_deleting_a_message_in_the_admin_purges_it_and_tells_the_sockets(admin_client, user, events):
    keep, gone = send(user, "keep"), send(user, "gone")
    events.clear()

    response = admin_client.post(f"/admin/messaging/message/{gone.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert list(Message.objects.values_list("pk", flat=True)) == [keep.pk]
    assert purges(events) == [{"type": "messages_purged", "room": "general"}]


def test_bulk_deleting_messages_in_the_admin_goes_through_the_purge(admin_client, user, events):
    messages = [send(user, "one"), send(user, "two")]
    events.clear()

    admin_client.post(
        "/admin/messaging/message/",
        {"action": "delete_selected", "post": "yes", "_selected_action": [m.pk for m in messages]},
    )

    assert not Message.objects.exists()
    assert purges(events) == [{"type": "messages_purged", "room": "general"}]


def test_deleting_a_room_in_the_admin_deletes_its_messages_and_tells_who_could_see_it(admin_client, user, events):
    room = make_room(slug="doomed")
    send(user, "x", room=room)
    events.clear()

    response = admin_client.post(f"/admin/messaging/room/{room.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Room.objects.filter(slug="doomed").exists()
    assert not Message.objects.filter(room_id=room.pk).exists()
    frames = [json.loads(e["frame"]) for e in events if "frame" in e]
    assert [(f["type"], f["room"]["slug"]) for f in frames] == [("room_deleted", "doomed")]


def test_memberships_are_not_added_or_deleted_in_the_admin_but_roles_change(admin_client, user, other_user):
    room = make_room(kind=Room.Kind.PRIVATE, members=(user, other_user))

    page = admin_client.get(f"/admin/messaging/room/{room.pk}/change/")

    assert page.status_code == 200
    assert b"joining and leaving go through the API" in page.content
    assert b'name="memberships-0-role"' in page.content
    assert b'name="memberships-0-DELETE"' not in page.content
    assert b'name="memberships-MAX_NUM_FORMS" value="0"' in page.content  # no row can be added
    assert b"alice" in page.content


def test_the_admin_download_is_sandboxed_and_a_missing_file_is_404(admin_client, user):
    attachment = files_upload(uploader=user, uploads=[png("pic.png")])[0]

    present = admin_client.get(f"/admin/messaging/attachment/{attachment.pk}/download/")
    os.remove(attachment.file.path)
    missing = admin_client.get(f"/admin/messaging/attachment/{attachment.pk}/download/")

    assert present["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert present["X-Content-Type-Options"] == "nosniff"
    assert missing.status_code == 404


def test_a_message_shows_its_reactions_pin_and_edit_history_read_only(admin_client, user, other_user):
    from messaging.services import message_edit, message_pin, reaction_set

    message = send(user, "first text")
    message_edit(actor=user, message_id=message.pk, content="second text")
    reaction_set(actor=other_user, message_id=message.pk, emoji=":tada:", added=True)
    message_pin(actor=user, message_id=message.pk, pinned=True)

    page = admin_client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    pinned = admin_client.get("/admin/messaging/message/", {"pinned_at__isempty": "0"}).content.decode()

    assert "first text" in page
    assert ":tada: 1" in page
    assert "edit history" in page.lower()
    assert f"/admin/messaging/message/{message.pk}/change/" in pinned
