"""Incoming webhooks: who may add, list, rotate and remove them; posting through one; bad input."""

import pytest
from rest_framework.test import APIClient

from integrations.models import IncomingWebhook
from messaging.models import Membership, Message, Room
from messaging.tests.factories import general, make_room

pytestmark = pytest.mark.django_db


def _create(api, slug="general", name="CI"):
    return api.post(f"/api/v1/rooms/{slug}/webhooks/", {"name": name}, format="json")


def _post(url, body, **kwargs):
    return APIClient().post(url, body, format="json", **kwargs)


def test_a_writer_creates_a_webhook_and_posting_to_its_url_posts_as_its_bot(api, user):
    general()
    created = _create(api)

    assert created.status_code == 201, created.json()
    url = created.json()["url"]
    assert url.startswith("http://testserver/hooks/")
    posted = _post(url, {"text": "Build *green*"})
    assert posted.status_code == 201, posted.json()
    message = Message.objects.get(pk=posted.json()["id"])
    assert (message.content, message.room.slug) == ("Build *green*", "general")
    assert message.sender is not None
    assert message.sender.username == created.json()["bot"]["username"]
    assert message.sender != user


def test_the_content_shape_works_too_and_the_secret_is_stored_hashed(api):
    general()
    created = _create(api).json()
    secret = created["url"].rstrip("/").rsplit("/", 1)[1]

    assert _post(created["url"], {"content": "deployed"}).status_code == 201
    assert secret not in IncomingWebhook.objects.get().secret_hash


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"text": ""},
        {"text": 5},
        {"content": None},
        {"text": "a", "content": "b"},
        {"other": "x"},
        {"text": "   "},
    ],
)
def test_bad_payloads_are_a_clear_400_and_store_nothing(api, body):
    general()
    url = _create(api).json()["url"]

    answer = _post(url, body)

    assert answer.status_code == 400
    assert answer.json()["code"] in {"invalid_payload", "parse_error"}
    assert not Message.objects.exists()


def test_not_json_oversized_and_too_long_bodies_are_refused(api, settings):
    general()
    url = _create(api).json()["url"]
    settings.CHAT_WEBHOOK_MAX_BODY = 1000

    assert APIClient().post(url, "text=hi", content_type="application/x-www-form-urlencoded").status_code == 400
    assert APIClient().post(url, "{not json", content_type="application/json").json()["code"] == "parse_error"
    assert _post(url, {"text": "x" * 2000}).status_code == 413
    settings.CHAT_WEBHOOK_MAX_BODY = 100_000
    assert _post(url, {"text": "x" * (settings.CHAT_MAX_MESSAGE_LENGTH + 1)}).json()["code"] == "too_long"
    assert not Message.objects.exists()


def test_a_wrong_secret_or_another_webhooks_secret_is_a_404(api):
    general()
    make_room(slug="ops", members=(api.user,))
    first = _create(api).json()
    second = _create(api, slug="ops").json()
    second_secret = second["url"].rstrip("/").rsplit("/", 1)[1]

    wrong = _post(f"http://testserver/hooks/{first['id']}/{second_secret}/", {"text": "into general?"})
    missing = _post(f"http://testserver/hooks/999999/{second_secret}/", {"text": "x"})

    assert (wrong.status_code, missing.status_code) == (404, 404)
    assert not Message.objects.exists()


def test_a_webhook_is_rate_limited(api, settings):
    general()
    settings.CHAT_WEBHOOK_RATE = "2/min"
    url = _create(api).json()["url"]

    codes = [_post(url, {"text": f"n{i}"}).status_code for i in range(3)]

    assert codes == [201, 201, 429]
    assert Message.objects.count() == 2


def test_rotating_the_secret_retires_the_old_url(api):
    general()
    created = _create(api).json()

    rotated = api.post(f"/api/v1/rooms/general/webhooks/{created['id']}/rotate/")

    assert rotated.status_code == 200
    assert rotated.json()["url"] != created["url"]
    assert _post(created["url"], {"text": "old"}).status_code == 404
    assert _post(rotated.json()["url"], {"text": "new"}).status_code == 201


def test_deleting_a_webhook_stops_its_url_and_keeps_its_messages(api):
    general()
    created = _create(api).json()
    _post(created["url"], {"text": "kept"})

    assert api.delete(f"/api/v1/rooms/general/webhooks/{created['id']}/").status_code == 204
    assert _post(created["url"], {"text": "gone"}).status_code == 404
    assert Message.objects.get().content == "kept"


def test_the_list_shows_no_secret(api):
    general()
    _create(api)

    listed = api.get("/api/v1/rooms/general/webhooks/").json()

    assert [w["name"] for w in listed["results"]] == ["CI"]
    assert "url" not in listed["results"][0]


def test_a_private_rooms_webhook_bot_is_a_member_and_posts(api):
    room = make_room(kind=Room.Kind.PRIVATE, members=(api.user,))
    created = _create(api, slug=room.slug).json()

    assert _post(created["url"], {"text": "private"}).status_code == 201
    assert Membership.objects.filter(room=room, user_id=created["bot"]["id"]).exists()


def test_outsiders_get_404_for_rooms_they_cannot_read(api, other_api):
    room = make_room(kind=Room.Kind.PRIVATE, members=(api.user,))
    hook = _create(api, slug=room.slug).json()

    assert _create(other_api, slug=room.slug).status_code == 404
    assert other_api.get(f"/api/v1/rooms/{room.slug}/webhooks/").status_code == 404
    assert other_api.post(f"/api/v1/rooms/{room.slug}/webhooks/{hook['id']}/rotate/").status_code == 404
    assert other_api.delete(f"/api/v1/rooms/{room.slug}/webhooks/{hook['id']}/").status_code == 404
    assert _create(api, slug="no-such-room").status_code == 404


def test_a_member_who_did_not_create_it_cannot_change_it(api, other_api):
    general()
    hook = _create(api).json()

    assert other_api.get("/api/v1/rooms/general/webhooks/").status_code == 200
    assert other_api.post(f"/api/v1/rooms/general/webhooks/{hook['id']}/rotate/").status_code == 403
    assert other_api.delete(f"/api/v1/rooms/general/webhooks/{hook['id']}/").status_code == 403


def test_an_admin_may_remove_anyones_webhook(api, admin_api):
    general()
    hook = _create(api).json()

    assert admin_api.delete(f"/api/v1/rooms/general/webhooks/{hook['id']}/").status_code == 204


def test_bad_names_and_anonymous_callers_are_refused(api, anon_client):
    general()

    assert _create(api, name="").status_code == 400
    assert _create(api, name="x" * 81).status_code == 400
    assert _create(anon_client).status_code == 401


def test_a_webhook_of_a_room_the_bot_left_refuses(api):
    room = make_room(kind=Room.Kind.PRIVATE, members=(api.user,))
    created = _create(api, slug=room.slug).json()
    Membership.objects.filter(room=room, user_id=created["bot"]["id"]).delete()

    assert _post(created["url"], {"text": "x"}).status_code == 404
    assert not Message.objects.exists()


def test_a_reader_who_may_not_write_cannot_add_or_list_webhooks(api, monkeypatch):
    # Readers who may not write exist with announcement rooms, mutes and archived rooms: whatever
    # messaging's room_writable says, the webhook services follow it.
    general()
    monkeypatch.setattr("integrations.services.room_writable", lambda **_: False)
    monkeypatch.setattr("integrations.selectors.room_writable", lambda **_: False)

    assert _create(api).status_code == 403
    assert api.get("/api/v1/rooms/general/webhooks/").status_code == 403
    assert not IncomingWebhook.objects.exists()


def test_in_an_announcement_room_only_moderators_add_webhooks(api, other_api, user):
    room = make_room(members=(user, other_api.user))  # user owns it; the other is a member
    Room.objects.filter(pk=room.pk).update(post_policy=Room.PostPolicy.MODERATORS)

    refused = _create(other_api, slug=room.slug)

    assert (refused.status_code, refused.json()["code"]) == (403, "posting_restricted")
    assert _create(api, slug=room.slug).status_code == 201


def test_the_admin_lists_webhooks_subscriptions_and_deliveries(admin_api, api):
    from django.test import Client

    general()
    _create(api)
    client = Client()
    client.force_login(admin_api.user)

    for model in ("incomingwebhook", "subscription", "delivery"):
        assert client.get(f"/admin/integrations/{model}/").status_code == 200
    hook = IncomingWebhook.objects.get()
    page = client.get(f"/admin/integrations/incomingwebhook/{hook.pk}/change/")
    assert page.status_code == 200
    assert hook.secret_hash not in page.content.decode()


def test_a_webhooks_secret_never_reaches_the_logs(api, caplog):
    from core.log_filters import redact

    general()
    url = _create(api).json()["url"]
    secret = url.rstrip("/").rsplit("/", 1)[1]
    wrong = url.replace(secret, secret[::-1])

    with caplog.at_level("WARNING", logger="django.request"):
        _post(wrong, {"text": "x"})

    assert redact(f"POST {url} 201") == f"POST {url.replace(secret, '[redacted]')} 201"
    assert all(redact(record.getMessage()) == redact(redact(record.getMessage())) for record in caplog.records)
    assert all(secret[::-1] not in redact(record.getMessage()) for record in caplog.records)


def test_direct_conversations_have_no_webhooks(api, other_user):
    from messaging.services import direct_room_get_or_create

    direct, _ = direct_room_get_or_create(actor=api.user, other=other_user)

    assert _create(api, slug=direct.slug).status_code == 400
