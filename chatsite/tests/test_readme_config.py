"""The README's configuration tables against the environment variables the code reads.

An operator configures the server from the README alone: a variable the code reads that no table lists
cannot be found, and a listed one that nothing reads is set in vain (both had happened: CHAT_REPORT_RATE,
CHAT_SHUTDOWN_TIMEOUT and DJANGO_MEDIA_ROOT were read but listed nowhere)."""

from __future__ import annotations

import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
# The variables of the server's own configuration (WSGI's REMOTE_ADDR and the like are request data).
OURS = re.compile(r"^(CHAT|DJANGO|DATABASE|REDIS|EMAIL)_")
# Read by a library, not by our code: prometheus_client reads it itself.
READ_BY_LIBRARIES = {"PROMETHEUS_MULTIPROC_DIR"}
# Read by the tests only.
TEST_ONLY = {"CHAT_REQUIRE_SERVICES", "CHAT_UPDATE_SCREENSHOT"}
READS = re.compile(r'(?:env_\w+\(|environ\.get\(|environ\[|getenv\()\s*"([A-Z][A-Z0-9_]+)"')


def readme_variables() -> dict[str, set[str]]:
    """Names in the first column of every `| variable | default | ...` table, by the table's line."""
    tables: dict[str, set[str]] = {}
    lines = (BASE_DIR / "README.md").read_text().splitlines()
    for number, line in enumerate(lines):
        if not re.match(r"^\| (variable|setting) \| default \|", line):
            continue
        names: set[str] = set()
        for row in lines[number + 2 :]:
            if not row.startswith("|"):
                break
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
        tables[f"README.md:{number + 1}"] = names
    return tables


def code_variables() -> dict[str, str]:
    """Environment variables read by the project's code (not tests, not benchmarks), with a file each."""
    found: dict[str, str] = {}
    for path in sorted(BASE_DIR.rglob("*.py")):
        relative = path.relative_to(BASE_DIR)
        if relative.parts[0] in {".venv", "bench", "node_modules"} or "tests" in relative.parts:
            continue
        if relative.name == "conftest.py":
            continue
        for name in READS.findall(path.read_text()):
            found.setdefault(name, str(relative))
    return found


def test_the_configuration_table_is_first_and_found() -> None:
    tables = readme_variables()
    first = next(iter(tables.values()))
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CHAT_MESSAGE_RATE"} <= first
    assert len(tables) >= 4


def test_every_variable_the_code_reads_is_in_a_readme_table() -> None:
    listed = set().union(*readme_variables().values())
    unlisted = {
        name: where
        for name, where in code_variables().items()
        if OURS.match(name) and name not in listed and name not in TEST_ONLY
    }
    assert not unlisted, f"read by the code, in no README table: {unlisted}"


def test_every_variable_in_a_readme_table_is_read() -> None:
    read = set(code_variables()) | READ_BY_LIBRARIES
    for table, names in readme_variables().items():
        assert not names - read, f"{table} lists variables nothing reads: {sorted(names - read)}"
