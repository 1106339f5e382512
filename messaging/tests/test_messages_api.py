import pytest

from messaging.models import Message
from messaging.tests.factories import general, make_room, send

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"


def test_post_stores_and_returns_201(api, user):
    response = api.post(URL, {"content": "hello", "client_id": "abc"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["content"] == "hello"
    assert body["seq"] == 1
    assert body["is_mine"] is True
    assert body["sender"]["id"] == user.pk
    assert body["client_id"] == "abc"


def test_a_spoofed_sender_is_ignored(api, user, other_user):
    response = api.post(URL, {"content": "hi", "sender": other_user.pk, "user_id": other_user.pk}, format="json")

    assert response.json()["sender"]["id"] == user.pk


def test_retry_with_the_same_client_id_is_200_with_the_same_message(api):
    first = api.post(URL, {"content": "hi", "client_id": "k"}, format="json")
    again = api.post(URL, {"content": "hi", "client_id": "k"}, format="json")
    clash = api.post(URL, {"content": "other", "client_id": "k"}, format="json")

    assert (first.status_code, again.status_code, clash.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"]
    assert clash.json()["code"] == "client_id_conflict"
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "status", "key"),
    [
        ({"content": ""}, 400, "code"),
        ({"content": "   "}, 400, "code"),
        ({"content": "x" * 4001}, 400, "code"),
        ({"content": 12}, 400, "content"),
        ({"content": ["a"]}, 400, "content"),
        ({"content": "hi", "room": "nope"}, 404, "code"),
        ({"content": "hi", "client_id": "x" * 65}, 400, "client_id"),
        ({"content": "hi", "attachments": "1"}, 400, "attachments"),
        ({"content": "hi", "attachments": [999]}, 400, "code"),
        ({"content": "hi", "attachments": [1] * 11}, 400, "attachments"),
        ({"content": "hi", "reply_to": "x"}, 400, "reply_to"),
        ({"content": "hi", "reply_to": 999}, 400, "code"),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_stored(api, payload, status, key):
    response = api.post(URL, payload, format="json")

    assert response.status_code == status
    assert key in response.json()
    assert Message.objects.count() == 0
    assert general().last_seq == 0


def test_too_long_is_its_own_code(api):
    response = api.post(URL, {"content": "x" * 4001}, format="json")

    assert response.json()["code"] == "too_long"


def test_malformed_json_is_400(api):
    response = api.post(URL, data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_authors_edit_their_messages(api, user):
    message = send(user, "tpyo")

    response = api.patch(f"{URL}{message.pk}/", {"content": "typo"}, format="json")

    assert response.status_code == 200
    assert response.json()["content"] == "typo"
    assert response.json()["edited_at"] is not None


def test_editing_someone_elses_message_is_403(api, other_user):
    message = send(other_user, "mine")

    response = api.patch(f"{URL}{message.pk}/", {"content": "yours now"}, format="json")

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.content == "mine"


def test_messages_in_unreadable_rooms_are_404(api, other_user):
    from messaging.models import Room

    private = make_room(kind=Room.Kind.PRIVATE, members=(other_user,))
    message = send(other_user, "secret", room=private)

    assert api.get(f"{URL}{message.pk}/").status_code == 404
    assert api.patch(f"{URL}{message.pk}/", {"content": "x"}, format="json").status_code == 404
    assert api.delete(f"{URL}{message.pk}/").status_code == 404


def test_admins_edit_and_delete_any_message(admin_api, user):
    message = send(user, "spam")

    assert admin_api.patch(f"{URL}{message.pk}/", {"content": "[removed]"}, format="json").status_code == 200
    assert admin_api.delete(f"{URL}{message.pk}/").status_code == 204


def test_deleting_twice_is_404(api, user):
    message = send(user, "oops")

    assert api.delete(f"{URL}{message.pk}/").status_code == 204
    assert api.delete(f"{URL}{message.pk}/").status_code == 404
    assert api.patch(f"{URL}{message.pk}/", {"content": "x"}, format="json").status_code == 404


def test_edit_validates_content(api, user):
    message = send(user, "ok")

    assert api.patch(f"{URL}{message.pk}/", {"content": ""}, format="json").status_code == 400
    assert api.patch(f"{URL}{message.pk}/", {}, format="json").status_code == 400


def test_only_admins_delete_everything(api, admin_api, user):
    for i in range(3):
        send(user, f"m{i}")

    refused = api.delete(URL)
    purged = admin_api.delete(URL)

    assert refused.status_code == 403
    assert purged.status_code == 200
    assert purged.json() == {"deleted": 3}
    assert admin_api.get(URL).json()["results"] == []


def test_delete_all_of_one_room(admin_api, user):
    other = make_room()
    send(user, "general")
    send(user, "other", room=other)

    assert admin_api.delete(URL, QUERY_STRING=f"room={other.slug}").json() == {"deleted": 1}
    assert Message.objects.get().content == "general"


def test_delete_all_of_an_unknown_room_is_404(admin_api):
    assert admin_api.delete(URL + "?room=nope").status_code == 404


def test_seqs_continue_after_a_purge(admin_api, api, user):
    send(user, "a")
    send(user, "b")
    admin_api.delete(URL)

    assert api.post(URL, {"content": "c"}, format="json").json()["seq"] == 3


def test_the_purge_is_announced_after_commit(admin_api, user, other_user, events):
    from messaging.services import room_join

    room_join(actor=other_user, room=general())
    send(user, "x")
    events.clear()

    admin_api.delete(URL)

    frames = [e["frame"] for e in events]
    assert '{"type":"messages_purged","room":null}' in frames
    assert any('"kind":"messages_purged"' in frame for frame in frames)
