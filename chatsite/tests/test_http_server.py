"""The HTTP server itself (chatsite/server.py), driven over raw sockets against a real daphne process.

What is checked here happens before Django sees a request, so only a real server shows it: bodies over
their bound refused while they stream in, malformed HTTP answered in JSON, slow headers cut off, and the
server still serving afterwards. The server runs with small limits so that the tests send little.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest
import websockets

from realtime.tests.e2e import Server, migrated_database, server_env, unique

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

KiB = 1024
MAX_BODY = 300 * KiB  # CHAT_MAX_BODY_BYTES: multipart bodies
MAX_DATA = 64 * KiB  # DATA_UPLOAD_MAX_MEMORY_SIZE: every other body
HEADER_TIMEOUT = 1  # CHAT_HEADER_TIMEOUT, seconds
BOUNDARY = "testboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("http-server")
    with migrated_database(directory) as database_url:
        env = server_env(
            database_url=database_url,
            redis_url="",
            prefix=unique("http"),
            CHAT_MAX_UPLOAD_REQUEST_BYTES="256KiB",
            CHAT_MAX_BODY_BYTES=str(MAX_BODY),
            DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE=str(MAX_DATA),
            CHAT_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
            CHAT_UPLOAD_RATE="1000/min",
            DJANGO_MEDIA_ROOT=str(directory / "media"),
        )
        process = Server(name="http", env=env, log_dir=directory)
        process.start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="module")
def token(server):
    return server.sign_up(unique("hal"))[1]


@dataclass
class Answer:
    status: int | None
    headers: dict[str, str]
    body: bytes
    sent: int = 0
    seconds: float = 0.0
    extra: list[str] = field(default_factory=list)

    def json(self) -> dict:
        return json.loads(self.body)


def exchange(server: Server, head: str, pieces: Iterable[bytes] = (), *, pause: float = 0.0) -> Answer:
    """Send a request head and then ``pieces``, stopping as soon as the server answers (as a client that
    watches its socket would), and read everything until the server closes or goes quiet."""
    started = time.monotonic()
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        for piece in pieces:
            if select.select([sock], [], [], pause)[0]:
                break
            try:
                sock.sendall(piece)
            except OSError:
                break
            sent += len(piece)
        raw = _read_until_closed(sock)
    return _parse(raw, sent, time.monotonic() - started)


def _read_until_closed(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes, sent: int, seconds: float) -> Answer:
    if not raw:
        return Answer(None, {}, b"", sent, seconds)
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return Answer(int(lines[0].split()[1]), headers, rest[:length], sent, seconds, [rest[length:].decode("latin-1")])


def post_head(path: str, content_type: str, *, length: int | None = None, extra: str = "") -> str:
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{framing}\r\n{extra}\r\n"


def filler(total: int, piece: int = 16 * KiB) -> list[bytes]:
    return [b"x" * min(piece, total - start) for start in range(0, total, piece)]


def chunked(pieces: Iterable[bytes]) -> list[bytes]:
    return [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces] + [b"0\r\n\r\n"]


def multipart(content: bytes, *, name: str = "file", filename: str = "a.png") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def assert_still_serving(server: Server) -> None:
    status, body = server.request("GET", "/healthz")
    assert (status, body["database"]) == (200, "ok")


def access_log_has(server: Server, line_part: str) -> bool:
    return line_part in server.log_path.read_text(errors="replace")


def test_a_multipart_body_declared_over_the_limit_is_refused_before_it_is_sent(server):
    # Only the head: the answer cannot wait for a body that never comes.
    answer = exchange(server, post_head("/healthz", MULTIPART, length=MAX_BODY + 1))

    assert answer.status == 413
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "detail": f"The request body is larger than {MAX_BODY} bytes.",
        "code": "too_large",
        "limit": MAX_BODY,
    }
    assert_still_serving(server)


def test_a_client_expecting_100_continue_gets_the_413_instead(server):
    head = post_head("/api/v1/auth/token/", MULTIPART, length=10 * MAX_BODY, extra="Expect: 100-continue\r\n")

    answer = exchange(server, head)

    assert answer.status == 413
    assert answer.json()["code"] == "too_large"
    assert "100 Continue" not in answer.extra[0]


def test_a_chunked_upload_is_cut_off_once_it_crosses_the_limit(server, token):
    head = post_head("/api/v1/files/", MULTIPART, extra=f"Authorization: Bearer {token}\r\n")
    # A little over the limit and no last chunk: the answer cannot wait for the end of the body.
    unfinished = chunked(filler(MAX_BODY + 16 * KiB))[:-1]

    answer = exchange(server, head, unfinished)

    assert answer.status == 413
    assert answer.json() == {
        "detail": f"The request body is larger than {MAX_BODY} bytes.",
        "code": "too_large",
        "limit": MAX_BODY,
    }
    assert_still_serving(server)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/healthz", "application/x-www-form-urlencoded"),
        ("/api/v1/auth/token/", "application/json"),
        ("/api/v1/users/", "text/plain"),
        ("/v1/user", "application/json"),
    ],
)
def test_other_bodies_are_held_to_djangos_data_limit(server, path, content_type):
    answer = exchange(server, post_head(path, content_type, length=MAX_DATA + 1))

    assert answer.status == 413
    assert answer.json() == {
        "detail": f"The request body is larger than {MAX_DATA} bytes.",
        "code": "too_large",
        "limit": MAX_DATA,
    }


def test_a_chunked_form_is_held_to_djangos_data_limit_too(server):
    unfinished = chunked([b"a=1&" * 1024] * (MAX_DATA // 4096 + 1))[:-1]

    answer = exchange(server, post_head("/healthz", "application/x-www-form-urlencoded"), unfinished)

    assert answer.status == 413
    assert answer.json()["limit"] == MAX_DATA


def test_an_upload_within_the_limits_is_stored(server, token):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * (200 * KiB)
    body = multipart(png, filename="photo.png")
    head = post_head("/api/v1/files/", MULTIPART, length=len(body), extra=f"Authorization: Bearer {token}\r\n")

    answer = exchange(server, head, [body])

    assert answer.status == 201, answer.body
    assert answer.json()["files"][0]["size"] == len(png)


def test_a_chunked_upload_within_the_limits_is_stored(server, token):
    body = multipart(b"plain text\n" * 1000, filename="notes.txt")
    head = post_head("/api/v1/files/", MULTIPART, extra=f"Authorization: Bearer {token}\r\n")

    answer = exchange(server, head, chunked([body[i : i + 4096] for i in range(0, len(body), 4096)]))

    assert answer.status == 201, answer.body
    assert answer.json()["files"][0]["content_type"] == "text/plain"


def test_a_malformed_multipart_body_gets_djangos_json_parse_error_and_an_access_log_line(server):
    body = b"--" + BOUNDARY.encode() + b"\r\nnot a part header\r\n"

    answer = exchange(server, post_head("/api/v1/users/", "multipart/form-data", length=len(body)), [body])

    assert answer.status == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == "parse_error"
    assert access_log_has(server, '"POST /api/v1/users/" 400')
    assert_still_serving(server)


def test_malformed_chunked_framing_is_answered_in_json(server):
    head = post_head("/api/v1/auth/token/", "application/json")

    answer = exchange(server, head, [b"zz-not-hex\r\n{}\r\n"])

    assert answer.status == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": "Malformed HTTP request.", "code": "parse_error"}
    assert access_log_has(server, '"POST /api/v1/auth/token/" 400')
    assert_still_serving(server)


def test_daphnes_own_errors_are_json(server):
    # A vertical tab passes Twisted's header checks and is refused by daphne's.
    answer = exchange(server, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Odd: a\x0bb\r\nConnection: close\r\n\r\n")

    assert answer.status == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": "Invalid header value", "code": "parse_error"}


def dribble(lines: list[str], *, every: float, budget: float) -> list[bytes]:
    """Header lines to send one by one, ``every`` seconds apart, for at most ``budget`` seconds."""
    count = int(budget / every)
    return [line.encode() for line in (lines * count)[:count]]


@pytest.mark.parametrize(
    "request_line",
    [
        "GET /healthz HTTP/1.1\r\n",
        "GET /ws/messages/ HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    ],
    ids=["http", "websocket-handshake"],
)
def test_headers_dribbled_slowly_are_cut_off_at_the_header_timeout(server, request_line):
    budget = 8 * HEADER_TIMEOUT
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_line.encode())
        started = time.monotonic()
        closed = False
        for line in dribble(["X-Slow: 1\r\n"], every=0.25, budget=budget):
            if select.select([sock], [], [], 0.25)[0]:
                closed = True
                break
            try:
                sock.sendall(line)
            except OSError:
                closed = True
                break
        held = time.monotonic() - started
        answer = _parse(_read_until_closed(sock), 0, held)

    assert closed, f"the server still read headers after {held:.1f} s"
    assert answer.status == 408
    assert answer.json() == {
        "detail": f"The request headers did not arrive within {HEADER_TIMEOUT} s.",
        "code": "timeout",
    }
    assert_still_serving(server)


def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        ready = select.select([sock], [], [], 8 * HEADER_TIMEOUT)[0]

        assert ready, "the server kept a silent connection open"
        assert sock.recv(100) == b""  # closed without an answer: there was no request to answer


def test_a_kept_alive_connection_serves_several_requests(server):
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        answers = []
        for _ in range(3):
            sock.sendall(request)
            answers.append(_read_one_answer(sock))

    assert answers == [200, 200, 200]


def _read_one_answer(sock: socket.socket) -> int:
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(4096)
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(next(ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(4096)
    return int(head.split()[1])


def test_an_open_websocket_outlives_the_header_timeout(server, token):
    async def scenario() -> dict:
        url = f"{server.ws}/ws/messages/?token={token}"
        async with websockets.connect(url, open_timeout=10) as ws:
            await asyncio.sleep(3 * HEADER_TIMEOUT)
            await ws.send(json.dumps({"type": "message", "content": "still here", "client_id": "c1"}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame["type"] == "ack":
                    return frame

    assert asyncio.run(scenario())["client_id"] == "c1"
