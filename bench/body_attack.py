"""What large or malformed request bodies cost the server before any authentication.

Each attack runs against a fresh ``python -m chatsite.serve`` of the code in this checkout (SQLite,
in-memory layer), so one attack's memory peak cannot hide the next one's. For each it reports the
answer (status, content type, the start of the body), the server's resident memory before, its peak
(``VmHWM``) and what stays resident afterwards, the server's CPU seconds, and whether ``/healthz``
still answers. Bodies are generated while they are sent, so the client itself stays small.

    .venv/bin/python -m bench.body_attack                 # every attack
    .venv/bin/python -m bench.body_attack --only chunked  # attacks whose name contains "chunked"

Run it on two checkouts (say, this branch and ``main``) to compare; numbers vary from run to run by a
few MiB, so read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import http.client
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import procfs, targets

MiB = 1024 * 1024
PIECE = 256 * 1024
BOUNDARY = "bodyattackboundary"


@dataclass(frozen=True)
class Attack:
    name: str
    path: str
    content_type: str
    size: int  # bytes of payload inside the body
    chunked: bool = False
    kind: str = "file"  # "file" (one multipart part), "field" (one urlencoded field), "fields", "malformed"

    def head(self) -> bytes:
        if self.kind == "file":
            return (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
        if self.kind == "field":
            return b"field="
        if self.kind == "malformed":
            return f"--{BOUNDARY}\r\nthis is not a part header\r\n".encode()
        return b""

    def tail(self) -> bytes:
        return f"\r\n--{BOUNDARY}--\r\n".encode() if self.kind == "file" else b""

    def payload(self) -> Iterator[bytes]:
        """The body in pieces: head, ``size`` bytes of filler, tail."""
        yield self.head()
        filler = (b"a=1&" * (PIECE // 4)) if self.kind == "fields" else b"x" * PIECE
        left = self.size
        while left > 0:
            yield filler[: min(left, PIECE)]
            left -= PIECE
        yield self.tail()

    def length(self) -> int:
        return len(self.head()) + self.size + len(self.tail())


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"
ATTACKS = [
    Attack("multipart 50 MiB -> /healthz", "/healthz", MULTIPART, 50 * MiB),
    Attack("multipart 50 MiB -> /api/v1/auth/token/", "/api/v1/auth/token/", MULTIPART, 50 * MiB),
    Attack("urlencoded 20 MiB, one field -> /healthz", "/healthz", URLENCODED, 20 * MiB, kind="field"),
    Attack("urlencoded 20 MiB of a=1& -> /healthz", "/healthz", URLENCODED, 20 * MiB, kind="fields"),
    Attack(
        "urlencoded 2 MiB of a=1& -> /api/v1/auth/token/", "/api/v1/auth/token/", URLENCODED, 2 * MiB, kind="fields"
    ),
    Attack("chunked multipart 300 MiB -> /api/v1/files/", "/api/v1/files/", MULTIPART, 300 * MiB, chunked=True),
    Attack("malformed multipart -> /api/v1/users/", "/api/v1/users/", "multipart/form-data", 1024, kind="malformed"),
]


@dataclass
class Outcome:
    status_line: str
    content_type: str
    body: str
    sent: int
    seconds: float


def _request_head(attack: Attack, host: str) -> bytes:
    framing = "Transfer-Encoding: chunked" if attack.chunked else f"Content-Length: {attack.length()}"
    return (
        f"POST {attack.path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {attack.content_type}\r\n{framing}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def _framed(attack: Attack) -> Iterator[bytes]:
    for piece in attack.payload():
        if not piece:
            continue
        yield (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") if attack.chunked else piece
    if attack.chunked:
        yield b"0\r\n\r\n"


def send(attack: Attack, host: str, port: int, timeout: float = 600) -> Outcome:
    """Send the attack, stopping early if the server answers first, and read its whole answer."""
    started = time.monotonic()
    sent = 0
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(_request_head(attack, host))
        for piece in _framed(attack):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # an early answer (413): stop sending, as a client reading its socket would
            try:
                sock.sendall(piece)
            except OSError:
                break
            sent += len(piece)
        answer = _read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    content_type = next((ln.split(":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith("content-type:")), "")
    preview = body[:100].decode("utf-8", "replace")
    return Outcome(lines[0] or "(no answer)", content_type or "-", preview, sent, time.monotonic() - started)


def _read_all(sock: socket.socket) -> bytes:
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


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise ValueError(field)


def _healthy(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def run_one(attack: Attack, prepared: targets.Prepared, options: targets.Options) -> dict[str, object]:
    live = targets.start(prepared, options)
    try:
        pid = live.processes[0].pid
        for _ in range(5):  # warm up: the first requests import and cache what every request needs
            _healthy(live.host, live.ports[0])
        time.sleep(0.5)
        before, cpu_before = _status_kib(pid, "VmRSS"), procfs.cpu_seconds([pid])
        outcome = send(attack, live.host, live.ports[0])
        time.sleep(1.0)
        alive = _healthy(live.host, live.ports[0])
        peak, after = _status_kib(pid, "VmHWM"), _status_kib(pid, "VmRSS")
        return {
            "attack": attack.name,
            "answer": f"{outcome.status_line} ({outcome.content_type})",
            "body": outcome.body,
            "sent MiB": round(outcome.sent / MiB, 1),
            "RSS before MiB": round(before / MiB),
            "peak growth MiB": round((peak - before) / MiB),
            "growth after MiB": round((after - before) / MiB),
            "server CPU s": round(procfs.cpu_seconds([pid]) - cpu_before, 2),
            "seconds": round(outcome.seconds, 2),
            "/healthz after": "200" if alive else "NO ANSWER",
        }
    finally:
        targets.stop(live)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the attacks whose name contains this text")
    args = parser.parse_args()
    options = targets.Options(users=1, server_cpus=None)
    prepared = targets.prepare(targets.parse_target("project-memory"), options)
    try:
        rows = [run_one(attack, prepared, options) for attack in ATTACKS if args.only in attack.name]
    finally:
        targets.cleanup(prepared, options)
    print(f"code: {targets.PROJECT_DIR}")
    columns = list(rows[0]) if rows else []
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]).replace("|", "/").replace("\n", " ") for c in columns) + " |")


if __name__ == "__main__":
    main()
