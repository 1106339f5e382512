"""Log lines: tokens redacted everywhere (tracebacks and JSON fields too), and the ids of the request or
socket they belong to."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.test import Client, RequestFactory

from core.log_filters import RedactingFormatter, RedactingJsonFormatter, RedactTokensFilter
from core.request_context import HEADER, ContextFilter, connection_id, incoming_id

SECRET = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl"
PLAIN = "%(asctime)s %(levelname)s %(name)s %(context)s%(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(connection_id)s"


def capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactTokensFilter())
    logger = logging.getLogger(f"test.logging.{id(stream)}")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    return logger, stream


@pytest.fixture(params=["plain", "json"])
def formatter(request) -> logging.Formatter:
    if request.param == "plain":
        return RedactingFormatter(PLAIN)
    return RedactingJsonFormatter(JSON_FIELDS)


def connect_to_the_socket(url: str) -> None:
    raise ConnectionError(f"could not open {url}")


def call_upstream(header: str) -> None:
    authorization = f"Bearer {SECRET}"  # a local string the traceback quotes as source
    raise PermissionError(f"upstream refused {header} ({authorization})")


def test_a_traceback_with_a_query_string_token_is_redacted(formatter):
    logger, stream = capture(formatter)

    try:
        connect_to_the_socket(f"wss://chat.example.com/ws/messages/?room=general&token={SECRET}")
    except ConnectionError:
        logger.exception("Socket failed")

    output = stream.getvalue()
    assert "ConnectionError" in output
    assert "token=[redacted]" in output
    assert SECRET not in output


def test_a_traceback_with_a_bearer_token_in_the_message_and_the_source_is_redacted(formatter):
    logger, stream = capture(formatter)

    try:
        call_upstream(f"Authorization: Bearer {SECRET}")
    except PermissionError:
        logger.error("Upstream failed", exc_info=True, stack_info=True)

    output = stream.getvalue()
    assert "PermissionError" in output
    assert "Bearer [redacted]" in output
    assert SECRET not in output


def test_json_lines_redact_every_field_and_stay_json():
    logger, stream = capture(RedactingJsonFormatter(JSON_FIELDS))

    logger.info(
        "GET %s",
        f"/ws/?token={SECRET}",
        extra={"path": f'/x?access_token={SECRET}"quoted', "nested": [f"Bearer {SECRET}"]},
    )

    line = json.loads(stream.getvalue())
    assert SECRET not in stream.getvalue()
    assert line["message"] == "GET /ws/?token=[redacted]"
    assert line["path"] == '/x?access_token=[redacted]"quoted'
    assert line["nested"] == ["Bearer [redacted]"]
    assert line["levelname"] == "INFO"
    assert "context" not in line
    assert "request_id" not in line  # outside a request: no empty id


@pytest.mark.django_db
def test_djangos_request_field_in_json_lines_is_redacted():
    """django.request logs the request object itself; its repr holds the query string."""
    logger, stream = capture(RedactingJsonFormatter(JSON_FIELDS))
    request = RequestFactory().get("/api/v1/users/me/", {"token": SECRET})

    logger.warning("Unauthorized: %s", request.path, extra={"status_code": 401, "request": request})

    line = json.loads(stream.getvalue())
    assert SECRET not in stream.getvalue()
    assert "token=[redacted]" in line["request"]
    assert line["status_code"] == 401


def test_socket_log_lines_carry_the_connection_id(formatter):
    logger, stream = capture(formatter)
    token = connection_id.set("c0ffee")
    try:
        logger.warning("Closing a slow socket")
    finally:
        connection_id.reset(token)

    assert "c0ffee" in stream.getvalue()


# --- request ids ----------------------------------------------------------------------------------------


@pytest.fixture
def django_lines(monkeypatch) -> list[logging.LogRecord]:
    """Records that reach the console handler (after its filters), as settings.LOGGING configures it."""
    records: list[logging.LogRecord] = []
    monkeypatch.setattr(logging.getLogger().handlers[0], "emit", records.append)
    return records


@pytest.mark.django_db
def test_a_sane_incoming_request_id_is_kept_and_echoed(django_lines):
    response = Client().get("/api/v1/users/me/", HTTP_X_REQUEST_ID="abc-123.edge:7")

    assert response.status_code == 401
    assert response[HEADER] == "abc-123.edge:7"
    assert [r.request_id for r in django_lines if r.name == "django.request"] == ["abc-123.edge:7"]


@pytest.mark.django_db
@pytest.mark.parametrize("sent", [None, "", "x" * 200, "a b", "id\nforged line", "ünïcode", "-starts-with-dash"])
def test_a_missing_or_odd_request_id_is_replaced(sent, django_lines):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    response = Client().get("/api/v1/users/me/", **headers)

    generated = response[HEADER]
    assert generated != sent
    assert len(generated) == 32
    assert [r.request_id for r in django_lines if r.name == "django.request"] == [generated]


def test_each_request_gets_its_own_id():
    assert incoming_id(None) != incoming_id(None)


@pytest.mark.django_db
def test_the_access_line_is_written_when_asked_with_the_path_but_not_the_query(settings, django_lines):
    settings.CHAT_REQUEST_LOG = True

    response = Client().get("/api/v1/users/me/", {"token": SECRET}, HTTP_X_REQUEST_ID="req-1")

    (line,) = [r for r in django_lines if r.name == "chat.access"]
    assert line.getMessage().startswith("GET /api/v1/users/me/ 401 ")
    fields = line.__dict__
    assert (fields["request_id"], fields["view"], fields["status"]) == ("req-1", "user-me", 401)
    assert SECRET not in line.getMessage()
    assert response.status_code == 401


@pytest.mark.django_db
def test_no_access_line_by_default(django_lines):
    Client().get("/healthz")

    assert not [r for r in django_lines if r.name == "chat.access"]
