"""Every list of the API has the top-level shape the README's table of lists gives it, and so does
its OpenAPI description; a list the table does not name fails here until the README names it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from integrations.tests.factories import one_of_each
from messaging.services import room_join
from messaging.services.moderation import report_create, room_ban, room_mute
from messaging.tests.factories import general, make_notification, send
from users.api_tokens import api_token_create, bot_create

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
API = "/api/v1"
BARE_LIST = "list"


def readme_list_shapes() -> dict[str, frozenset[str] | str]:
    """``{"/rooms/": {"count", ...}, "/connected-users/": "list", ...}`` from the README's table of lists."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| list | shape |")
    shapes: dict[str, frozenset[str] | str] = {}
    for row in lines[start + 2 :]:
        if not row.startswith("|"):
            break
        endpoints, shape = (cell.strip() for cell in row.strip("|").split("|", 1))
        obj = re.match(r"`\{([^`]*)\}`", shape)
        value = frozenset(re.findall(r'"(\w+)"', obj.group(1))) if obj else BARE_LIST
        assert obj or shape.startswith("a bare list"), row
        for path in re.findall(r"`GET (/[^`]+)`", endpoints):
            shapes[path] = value
    return shapes


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def openapi_list_shapes() -> dict[str, frozenset[str] | str]:
    """The same from the OpenAPI document: each GET under /api/v1/ answering an array or a page of ``results``."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    shapes: dict[str, frozenset[str] | str] = {}
    for path, operations in document["paths"].items():
        get = operations.get("get")
        content = (get or {}).get("responses", {}).get("200", {}).get("content", {})
        if not path.startswith(f"{API}/") or "application/json" not in content:
            continue
        schema = _resolve(content["application/json"]["schema"], document)
        if schema.get("type") == "array":
            shapes[path.removeprefix(API)] = BARE_LIST
        elif "results" in schema.get("properties", {}):
            shapes[path.removeprefix(API)] = frozenset(schema["properties"])
    return shapes


def test_the_readme_names_a_shape_for_every_list_and_the_openapi_document_agrees():
    # A path in the README may carry the query a list needs (``/search/?q=hello``).
    assert openapi_list_shapes() == {path.split("?")[0]: shape for path, shape in readme_list_shapes().items()}


def test_the_table_has_the_three_shapes():
    shapes = readme_list_shapes()

    assert shapes["/rooms/"] == {"count", "next", "previous", "results"}
    assert shapes["/messages/"] == {"next", "previous", "results"}
    assert shapes["/connected-users/"] == BARE_LIST


@pytest.mark.parametrize(("path", "shape"), sorted(readme_list_shapes().items()))
def test_each_list_answers_in_the_shape_the_readme_gives_it(admin_api, staff_user, user, other_user, path, shape):
    room_join(actor=staff_user, room=general())
    message = send(user, "hello")
    make_notification(staff_user)
    # Teams: a token, a bot, a report, a ban and a mute (the last two are audited).
    api_token_create(actor=staff_user, name="ci", scopes=["read"])
    bot_create(actor=staff_user, username="helper")
    report_create(actor=other_user, message_id=message.pk, reason="spam")
    room_ban(actor=staff_user, room=general(), user_id=other_user.pk)
    room_mute(actor=staff_user, room=general(), user_id=user.pk, until=timezone.now() + timedelta(hours=1))

    for placeholder, value in one_of_each(staff_user).items():
        path = path.replace(placeholder, value)

    response = admin_api.get(API + path.replace("{slug}", "general").replace("{message_id}", str(message.pk)))

    assert response.status_code == 200
    body = response.json()
    if shape == BARE_LIST:
        assert isinstance(body, list)
    else:
        assert set(body) == shape
        assert body["results"]
