"""The subscriptions API: only the bot's owner sees or changes them, bad input is a 400."""

import pytest

from integrations.models import Delivery, Subscription
from integrations.tests.conftest import make_bot
from integrations.tests.receivers import Receiver
from jobs.testing import drain
from messaging.models import Room
from messaging.tests.factories import general, make_room, send

pytestmark = pytest.mark.django_db


def _path(bot, rest=""):
    return f"/api/v1/bots/{bot.pk}/subscriptions/{rest}"


def test_the_owner_subscribes_a_bot_and_gets_the_secret_once(api, bot):
    general()

    created = api.post(_path(bot), {"url": "https://example.com/hook", "events": ["mention"]}, format="json")
    listed = api.get(_path(bot)).json()

    assert created.status_code == 201, created.json()
    assert len(created.json()["secret"]) >= 40
    assert created.json()["events"] == ["mention"]
    assert [s["id"] for s in listed["results"]] == [created.json()["id"]]
    assert "secret" not in listed["results"][0]


def test_someone_elses_bot_is_a_404(other_api, bot):
    subscription = Subscription.objects.create(bot=bot, url="https://example.com/", on_mention=True, secret="s")

    assert other_api.get(_path(bot)).status_code == 404
    assert (
        other_api.post(_path(bot), {"url": "https://example.com/", "events": ["mention"]}, format="json").status_code
        == 404
    )
    assert other_api.get(_path(bot, f"{subscription.pk}/deliveries/")).status_code == 404
    assert other_api.delete(_path(bot, f"{subscription.pk}/")).status_code == 404
    assert Subscription.objects.count() == 1


def test_a_person_is_not_a_bot(api, other_user):
    assert api.get(f"/api/v1/bots/{other_user.pk}/subscriptions/").status_code == 404


def test_only_the_owner_reads_the_delivery_log(api, other_api, other_user, bot):
    general()
    with Receiver(default=(200, {})) as receiver:
        created = api.post(_path(bot), {"url": receiver.url, "events": ["mention"]}, format="json").json()
        send(other_user, "@echo hi")
        drain()

    log = api.get(_path(bot, f"{created['id']}/deliveries/"))

    assert log.status_code == 200
    [entry] = log.json()["results"]
    assert (entry["status"], entry["attempts"], entry["response_code"], entry["event"]) == (
        "succeeded",
        1,
        200,
        "mention",
    )
    assert other_api.get(_path(bot, f"{created['id']}/deliveries/")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.com/", "events": []}, "events"),
        ({"url": "https://example.com/", "events": ["everything"]}, "events"),
        ({"url": "https://example.com/", "events": ["mention", "mention"]}, "events"),
        ({"url": "https://example.com/", "events": ["command"]}, "command"),
        ({"url": "https://example.com/", "events": ["command"], "command": "Bad Name"}, "command"),
        ({"url": "https://example.com/", "events": ["mention"], "command": "x"}, "command"),
        ({"url": "ftp://example.com/", "events": ["mention"]}, "url"),
        ({"url": "https://169.254.169.254/latest", "events": ["mention"]}, "url"),
        ({"url": "https://example.com/", "events": ["message"], "rooms": ["nope"]}, "rooms"),
        ({"url": "https://example.com/", "events": ["message"], "rooms": "general"}, "rooms"),
    ],
)
def test_bad_subscriptions_are_refused_with_the_field(api, bot, settings, body, field):
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = False
    general()

    answer = api.post(_path(bot), body, format="json")

    assert answer.status_code == 400, answer.json()
    assert field in answer.json()
    assert not Subscription.objects.exists()


def test_rooms_the_bot_cannot_read_are_refused(api, user, bot):
    private = make_room(kind=Room.Kind.PRIVATE, members=(user,))

    answer = api.post(
        _path(bot), {"url": "https://example.com/", "events": ["message"], "rooms": [private.slug]}, format="json"
    )

    assert answer.status_code == 400
    assert "rooms" in answer.json()


def test_http_targets_need_the_operators_consent(api, bot, settings):
    settings.CHAT_WEBHOOK_ALLOW_HTTP = False

    answer = api.post(_path(bot), {"url": "http://example.com/", "events": ["mention"]}, format="json")

    assert answer.status_code == 400
    assert "https" in answer.json()["url"][0]


def test_deleting_and_re_enabling(api, bot):
    created = api.post(_path(bot), {"url": "https://example.com/", "events": ["mention"]}, format="json").json()
    Subscription.objects.filter(pk=created["id"]).update(is_active=False, failures_in_a_row=9)

    enabled = api.post(_path(bot, f"{created['id']}/enable/"))

    assert enabled.status_code == 200
    assert (enabled.json()["is_active"], enabled.json()["failures_in_a_row"]) == (True, 0)
    assert api.delete(_path(bot, f"{created['id']}/")).status_code == 204
    assert api.delete(_path(bot, f"{created['id']}/")).status_code == 404


def test_a_bot_has_a_bounded_number_of_subscriptions(api, bot):
    for _ in range(20):
        Subscription.objects.create(bot=bot, url="https://example.com/", on_mention=True, secret="s")

    answer = api.post(_path(bot), {"url": "https://example.com/", "events": ["mention"]}, format="json")

    assert answer.status_code == 400
    assert Delivery.objects.count() == 0


def test_another_owners_bot_cannot_be_named_even_by_id_guessing(api, other_user):
    theirs = make_bot(other_user, "theirs")

    assert api.get(_path(theirs)).status_code == 404


def test_a_read_scoped_token_lists_but_cannot_subscribe_or_add_webhooks(user, bot):
    from rest_framework.test import APIClient

    from users.api_tokens import api_token_create

    general()
    issued = api_token_create(actor=user, name="ro", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.text}")

    assert client.get(_path(bot)).status_code == 200
    assert (
        client.post(_path(bot), {"url": "https://example.com/", "events": ["mention"]}, format="json").status_code
        == 403
    )
    assert client.post("/api/v1/rooms/general/webhooks/", {"name": "CI"}, format="json").status_code == 403
    assert not Subscription.objects.exists()


def test_secrets_are_issued_to_people_signed_in_not_to_api_tokens(user, bot):
    from rest_framework.test import APIClient

    from users.api_tokens import api_token_create

    general()
    issued = api_token_create(actor=user, name="rw", scopes=["write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.text}")

    subscribe = client.post(_path(bot), {"url": "https://example.com/", "events": ["mention"]}, format="json")
    hook = client.post("/api/v1/rooms/general/webhooks/", {"name": "CI"}, format="json")

    assert (subscribe.status_code, subscribe.json()["code"]) == (403, "insufficient_scope")
    assert hook.status_code == 403
    assert client.get(_path(bot)).status_code == 200


def test_a_bot_driven_by_its_own_token_subscribes_nothing(user, bot):
    from rest_framework.test import APIClient

    from users.api_tokens import bot_token_create

    issued = bot_token_create(actor=user, bot_id=bot.pk, name="self", scopes=["write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.text}")

    assert client.get(_path(bot)).status_code == 404  # a bot is nobody's owner, not even its own
