"""The README's shell examples, run as written, in order, in one shell, against a live server.

A newcomer copies the README's blocks into a terminal after `make run`: an example that needs an id
nobody said, a user nobody created or a variable nobody set fails for them, and it failed for us too
(message 1 before any message, user 2 before anyone signed up, `$ADMIN` never set). The blocks marked
`<!-- readme-example -->` are the ones that run on a fresh database; the others need what a test
cannot give them as written (an email's link, a server restarted with other settings, Docker).

Robust by construction: a fresh database, a free port (only `8000` is replaced), `curl` failing on any
HTTP error (`--fail-with-body`), and `set -euo pipefail`, so an unset variable or a refused call stops
the run and the test prints where."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from realtime.tests.e2e import BASE_DIR, Server, migrated_database, server_env, unique

MARK = "<!-- readme-example -->"
README = BASE_DIR / "README.md"

# Every curl of the examples fails on an HTTP error, and the shell stops at the first failure.
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body "$@"; }
"""

pytestmark = pytest.mark.e2e


def readme_examples(text: str) -> list[str]:
    """The marked blocks, in order; a mark must sit right above a ```sh block (never dropped silently)."""
    blocks = re.findall(rf"{re.escape(MARK)}\n```sh\n(.*?)\n```", text, flags=re.DOTALL)
    assert len(blocks) == text.count(MARK), "every readme-example mark is followed by a ```sh block"
    return blocks


def on_port(block: str, port: int) -> str:
    return re.sub(r"(localhost|127\.0\.0\.1):8000\b", rf"\g<1>:{port}", block)


def test_the_marked_examples_cover_the_api_walk() -> None:
    blocks = readme_examples(README.read_text())
    text = "\n".join(blocks)
    assert len(blocks) >= 20
    for needed in ("TOKEN=", "ADMIN=", "ROOT=", "BOB=", "/search/", "/webhooks/", "/ws/messages/"):
        assert needed in text, needed


def test_readme_examples_run_as_written_on_a_fresh_database(tmp_path: Path) -> None:
    from PIL import Image

    missing = [tool for tool in ("bash", "curl", "python3") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the README's examples need {', '.join(missing)} (curl 7.76 or later)")

    work = tmp_path / "newcomer"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix))
    (work / "manage.py").symlink_to(BASE_DIR / "manage.py")
    Image.new("RGB", (800, 600), (200, 30, 30)).save(work / "photo.jpg")
    with migrated_database(tmp_path) as database_url:
        env = server_env(
            database_url=database_url,
            redis_url="",
            prefix=unique("readme"),
            DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
            CHAT_ACCESS_TOKEN_LIFETIME="15m",
        )
        server = Server("readme", env, tmp_path)
        server.start()
        try:
            script = PRELUDE + "\n".join(on_port(block, server.port) for block in readme_examples(README.read_text()))
            shell_env = {**env, "PYTHONPATH": str(BASE_DIR)}
            result = subprocess.run(
                ["bash", "-c", script],
                cwd=work,
                env=shell_env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
            )
        finally:
            server.stop()
    assert result.returncode == 0, f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    # What the README's comments promise, beyond "it answered 2xx":
    assert '"username":"ana"' in result.stdout  # readers, and users/me
    assert '<mark>deploy</mark> <mark>failed</mark> again"' in result.stdout  # PostgreSQL drops "the "
    assert '[{"content":"tpyo","html":"<p>tpyo</p>","edited_at":null}]' in result.stdout
    assert '"name":"ana, bob, carol"' in result.stdout
    assert '{"type":"auth_ok"' in result.stdout
    assert re.search(r"^chat_", result.stdout, flags=re.MULTILINE)
    assert os.path.getsize(work / "thumbnail.webp") > 0
