"""Self-test of the profile summary: ``.venv/bin/pytest bench/check_profile_report.py``.

Named check_*.py like check_accounting.py, so the project's own test run never collects it. The shares
quoted in the README come from this arithmetic, so it is checked on hand-made stacks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.profile_report import Profile, inclusive_by_function, layer_of, markdown, self_by_layer, target_of

ROOT = "run (daphne/server.py:100)"  # on every stack, and not stdlib: only the < 99.5 % rule drops it
LOOP = f"{ROOT};run_forever (asyncio/base_events.py:590)"
READ = "dataReceived (twisted/internet/tcp.py:200)"
VIEW = "post (messaging/views.py:40)"
QUERY = "execute (django/db/backends/utils.py:100)"
SQLITE = "execute (sqlite3/dbapi2.py:1)"


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    raw = tmp_path / "project-memory-0-120000-42.txt"
    raw.write_text(
        f"{LOOP};{READ} 30\n"
        f"{LOOP};{VIEW};{QUERY};{SQLITE} 50\n"
        f"{LOOP};{VIEW};{VIEW} 20\n"  # recursion: counted once per sample
        f"{LOOP};EpollSelector.select (selectors.py:451) 400\n"  # the loop waiting: idle
        f"{ROOT};Condition.wait (threading.py:295) 7\n"
        "a line py-spy never writes\n"
    )
    loaded = Profile()
    loaded.add_file(raw)
    return loaded


def test_lines_are_read_as_stacks_with_counts(profile: Profile) -> None:
    assert profile.samples == 100
    assert profile.stacks[(*LOOP.split(";"), READ)] == 30


def test_waits_are_counted_as_idle_and_left_out_of_the_shares(profile: Profile) -> None:
    assert profile.idle == 407
    assert not any(stack[-1].startswith(("EpollSelector.select", "Condition.wait")) for stack in profile.stacks)


def test_self_time_goes_to_the_innermost_frames_layer(profile: Profile) -> None:
    assert dict(self_by_layer(profile)) == {
        "database driver": 50.0,
        "daphne + Twisted (HTTP/WebSocket)": 30.0,
        "project code": 20.0,
    }


def test_inclusive_share_counts_a_recursive_function_once_per_sample(profile: Profile) -> None:
    shares = dict(inclusive_by_function(profile))
    assert shares[VIEW] == 70.0
    assert shares[QUERY] == 50.0
    assert shares[ROOT] == 100.0


def test_layers_come_from_the_first_path_component() -> None:
    assert layer_of("decode (rest_framework_simplejwt/backends.py:10)") == "JWT (simplejwt, PyJWT)"
    assert layer_of("dumps (json/__init__.py:183)") == "other stdlib and libraries"
    assert layer_of("garbage") == "other stdlib and libraries"


def test_the_summary_leaves_out_frames_on_every_stack(profile: Profile) -> None:
    text = markdown("t", profile)
    assert "100 busy samples (407 idle of 507 left out)" in text
    assert f"`{VIEW}` | 70.0" in text
    assert ROOT not in text
    assert "run_forever" not in text


def test_files_are_grouped_by_target() -> None:
    assert target_of(Path("project-redis-core-x2-1-235959-4242.txt")) == "project-redis-core-x2"
