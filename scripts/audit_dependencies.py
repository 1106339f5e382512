#!/usr/bin/env python3
"""Audit the locked dependencies with pip-audit: fail on a known vulnerability, and say so plainly
(without failing) when packages could not be looked up.

pip-audit asks a vulnerability service (PyPI's JSON API by default) about every pinned package of the
lock file. Where that service cannot be reached, pip-audit does not fail: it reports each package as
"Dependency not found on PyPI and could not be audited" and finds nothing. This script tells that
apart from a clean audit, so CI prints a notice instead of a false "no known vulnerabilities".

Usage: scripts/audit_dependencies.py LOCK_FILE [pip-audit options...]
Exit status: 0 clean or unaudited (with a notice), 1 vulnerabilities found, 2 pip-audit itself failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

NOT_AUDITED = "could not be audited"
# What a failed connection to the service looks like when pip-audit gives up on it (the OSV service).
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


def run_pip_audit(lock_file: str, extra: list[str]) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON report of ``lock_file`` (hashed pins, so no resolution and no install), or None
    when it failed without writing one; and what it printed."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "audit.json"
        command = [
            sys.executable, "-m", "pip_audit", "--disable-pip", "--require-hashes", "--progress-spinner", "off",
            "--requirement", lock_file, "--format", "json", "--output", str(report), *extra,
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        output = completed.stdout + completed.stderr
        if not report.exists() or not report.read_text():
            return None, output
        return json.loads(report.read_text()), output


def summarise(report: dict[str, Any]) -> tuple[int, list[str]]:
    """The exit status and the lines to print for a pip-audit JSON report."""
    dependencies = report.get("dependencies", [])
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    skipped = [dep for dep in dependencies if "skip_reason" in dep]
    lines = []
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            lines.append(f"VULNERABLE {dep['name']} {dep.get('version', '?')}: {vuln['id']} (fixed in: {fixed})")
    unreachable = [dep for dep in skipped if NOT_AUDITED in dep["skip_reason"]]
    if skipped and len(unreachable) == len(dependencies):
        lines.append(
            f"NOTICE: none of the {len(dependencies)} locked packages could be audited: the vulnerability "
            "service (PyPI's JSON API) could not be reached from here. Nothing was checked; run `make audit` "
            "where it can be reached."
        )
    elif skipped:
        lines.append(f"NOTICE: {len(skipped)} of {len(dependencies)} packages could not be audited:")
        lines += [f"  {dep['name']}: {dep['skip_reason']}" for dep in skipped]
    if vulnerable:
        lines.append(f"{len(vulnerable)} vulnerable package(s): upgrade them in requirements*.txt, then `make lock`.")
        return 1, lines
    audited = len(dependencies) - len(skipped)
    if audited:
        lines.append(f"No known vulnerabilities in {audited} audited package(s).")
    return 0, lines


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write(__doc__ or "")
        return 2
    report, output = run_pip_audit(argv[0], argv[1:])
    if report is None and any(sign in output for sign in UNREACHABLE):
        print("NOTICE: nothing was audited: the vulnerability service could not be reached from here.")
        return 0
    if report is None:
        sys.stderr.write(output)
        print("pip-audit failed (its output is above).", file=sys.stderr)
        return 2
    status, lines = summarise(report)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
