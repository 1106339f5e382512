"""Every ``# type: ignore`` names the error it silences and says why.

The reason is a comment after the ignore on the same line, or the comment line just above it. mypy
itself checks that each ignore names its code (``ignore-without-code``) and is still needed
(``warn_unused_ignores``): ``make typecheck``.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "node_modules", "staticfiles", "media", "__pycache__"}
# Top-level directories left out (none: every ignore in the project says why).
NOT_YET_CHECKED: set[str] = set()
IGNORE = re.compile(r"type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)")


def unexplained_ignores(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each ignore without an error code or without a reason."""
    lines = source.splitlines()
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT or not (match := IGNORE.search(token.string)):
            continue
        row = token.start[0]
        reason_after = match["rest"].strip().lstrip("#").strip()
        reason_above = row > 1 and lines[row - 2].strip().startswith("#")
        if not match["codes"] or not (reason_after or reason_above):
            found.append((row, lines[row - 1].strip()))
    return found


def python_files(root: Path = ROOT) -> list[Path]:
    return [
        path
        for path in sorted(root.rglob("*.py"))
        if SKIPPED_DIRS.isdisjoint(path.relative_to(root).parts)
        and path.relative_to(root).parts[0] not in NOT_YET_CHECKED
    ]


def test_every_type_ignore_names_its_error_and_says_why():
    unexplained = [
        f"{path.relative_to(ROOT)}:{row}: {text}"
        for path in python_files()
        for row, text in unexplained_ignores(path.read_text(encoding="utf-8"))
    ]

    assert unexplained == []


def test_the_check_finds_bare_and_unexplained_ignores():
    source = (
        "a = 1  # type: ignore\n"
        "b = 2  # type: ignore[assignment]\n"
        "c = 3  # type: ignore[assignment]  # the stubs are wrong here\n"
        "# the stubs are wrong here\n"
        "d = 4  # type: ignore[assignment]\n"
        "e = '# type: ignore'\n"
    )

    assert unexplained_ignores(source) == [(1, "a = 1  # type: ignore"), (2, "b = 2  # type: ignore[assignment]")]
