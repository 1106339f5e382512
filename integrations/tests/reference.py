"""The README's reference receiver, loaded from the README itself (so the documented code is the tested code)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- reference receiver -->"


def reference_source() -> str:
    text = README.read_text(encoding="utf-8")
    block = text[text.index(MARKER) :].split("```python\n", 1)[1]
    return block.split("```", 1)[0]


@contextmanager
def reference_receiver() -> Iterator[dict[str, Any]]:
    """The receiver's module namespace (set ``SECRET``; ``seen``), serving at ``namespace["url"]``."""
    namespace: dict[str, Any] = {"__name__": "reference_receiver"}
    exec(compile(reference_source(), str(README), "exec"), namespace)  # noqa: S102 (our own README)
    server = ThreadingHTTPServer(("127.0.0.1", 0), namespace["Echo"])
    namespace["url"] = f"http://127.0.0.1:{server.server_address[1]}/echo"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield namespace
    finally:
        server.shutdown()
        server.server_close()
