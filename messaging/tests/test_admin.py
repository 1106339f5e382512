import pytest

from messaging.models import Message
from messaging.services import files_upload
from messaging.tests.factories import general, png, send

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


def test_non_staff_cannot_use_the_admin_download(client, user):
    attachment = files_upload(uploader=user, uploads=[png()])[0]
    client.force_login(user)

    response = client.get(f"/admin/messaging/attachment/{attachment.pk}/download/")

    assert response.status_code == 302  # to the admin login
