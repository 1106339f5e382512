"""Run the benchmark scenarios against every target in one invocation; write bench/results/latest.md.

``python -m bench.run --scenario all`` (what ``make bench`` runs) takes about half an hour with the five
default targets; ``--quick`` is a few-minute smoke run. Runs are interleaved across targets (run 1 of
every target, then run 2...), so slow drift of the machine hits all targets alike; every run starts
fresh server processes; the tables show medians across runs and project/baseline ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench import procfs, profile_report, report
from bench.loadgen import event_loop_factory
from bench.reconnect import reconnect_storm
from bench.rest import RestLoad, rest
from bench.retry import POLICIES
from bench.scenarios import Load, Timing, capacity, connect_burst, fanout
from bench.services import Redis
from bench.stats import medians
from bench.targets import (
    PROJECT_DIR,
    Live,
    Options,
    Prepared,
    TargetError,
    cleanup,
    parse_target,
    prepare,
    restart,
    start,
    stop,
)

SCENARIOS = ("fanout", "capacity", "connect", "rest", "reconnect")
IN_ALL = ("fanout", "capacity", "connect", "rest")  # the reconnect storm runs when named
DEFAULT_TARGETS = "baseline,daphne-floor,project-memory,project-redis-core,project-redis-pubsub,project-redis-core-x2"
DEFAULT_LOADS = "100x5x20,200x10x10"
RUN_TIMEOUT = 900.0

Case = Callable[[Live], Awaitable[dict[str, object]]]


@dataclass(frozen=True)
class Plan:
    runs: int
    timing: Timing
    loads: list[Load]
    capacity_steps: list[int]
    capacity_timing: Timing
    connect_count: int
    reconnect_count: int
    reconnect_policies: list[str]
    rest_load: RestLoad
    rest_duration: float

    @property
    def users(self) -> int:
        """Distinct users (and tokens) any scenario can need."""
        loads = [load.clients for load in self.loads]
        rest_users = self.rest_load.listeners + self.rest_load.concurrency
        return max([*loads, *self.capacity_steps, self.connect_count, self.reconnect_count, rest_users]) + 20


def make_plan(args: argparse.Namespace) -> Plan:
    quick = args.quick
    duration = args.duration or (3.0 if quick else 10.0)
    steps = args.capacity_steps or ("25,50,100,150,200" if quick else "25,50,75,100,125,150,200,250,300,400,500")
    return Plan(
        runs=args.runs or (1 if quick else 3),
        timing=Timing(warmup_s=1.0 if quick else 2.0, duration_s=duration, drain_s=2.0 if quick else 3.0),
        loads=[Load.parse(text) for text in args.loads.split(",")],
        capacity_steps=[int(n) for n in steps.split(",")],
        capacity_timing=Timing(warmup_s=1.0, duration_s=min(duration, 2.0 if quick else 5.0), drain_s=2.0),
        connect_count=args.connect_count or (200 if quick else 1000),
        # Users for the reconnect storm only when it runs (making 5,000 users and tokens takes a while).
        reconnect_count=(args.reconnect_count or (500 if quick else 5000)) if "reconnect" in args.scenarios else 0,
        reconnect_policies=args.reconnect_policies,
        rest_load=RestLoad(listeners=10, concurrency=args.rest_concurrency),
        rest_duration=duration,
    )


def cases(scenario: str, plan: Plan, options: Options | None = None) -> list[tuple[str, Case]]:
    """(label, coroutine factory) for each case of ``scenario``."""
    if scenario == "fanout":
        return [
            (f"{load.label} (offered {load.deliveries_per_s:,.0f} deliveries/s)", _fanout_case(load, plan.timing))
            for load in plan.loads
        ]
    if scenario == "capacity":
        limit = f"p95 ≤ 500 ms, steps {plan.capacity_steps[0]}..{plan.capacity_steps[-1]} clients"
        return [(limit, lambda live: capacity(live, plan.capacity_steps, plan.capacity_timing))]
    if scenario == "connect":
        return [(f"{plan.connect_count} sockets", lambda live: connect_burst(live, plan.connect_count))]
    if scenario == "reconnect":
        again = partial(restart, options=options or Options())
        return [
            (
                f"{plan.reconnect_count} sockets, the server restarted, {policy} retries",
                partial(_reconnect_case, count=plan.reconnect_count, again=again, policy=policy),
            )
            for policy in plan.reconnect_policies
        ]
    load = plan.rest_load
    label = f"{load.concurrency} concurrent requests, {load.listeners} listening sockets"
    return [(label, lambda live: rest(live, load, duration_s=plan.rest_duration, drain_s=plan.timing.drain_s))]


def _reconnect_case(live: Live, *, count: int, again: Callable[[Live], tuple[float, float]], policy: str) -> Any:
    return reconnect_storm(live, count, again, policy)


def _fanout_case(load: Load, timing: Timing) -> Case:
    return lambda live: fanout(live, load, timing)


def _summary(scenario: str, row: dict[str, object]) -> str:
    keys = {
        "fanout": ("received_per_s", "lost", "duplicates", "p99_ms", "server_cpu_us_per_delivery", "loadgen_cpu_pct"),
        "capacity": ("capacity_clients", "received_per_s", "stopped_at_clients", "loadgen_bound"),
        "connect": ("connected", "connections_per_s", "rss_kib_per_connection", "reached_by_broadcast"),
        "rest": ("post_per_s", "post_p99_ms", "lost", "get_per_s", "get_p99_ms"),
        "reconnect": (
            "back",
            "live",
            "restart_s",
            "back_after_ready_s",
            "live_after_ready_s",
            "connect_attempts",
            "refused_503",
            "server_cpu_ms_per_connection",
        ),
    }[scenario]
    return ", ".join(f"{k}={report.fmt(row.get(k), 2)}" for k in keys)


async def run_one(prepared: Prepared, options: Options, case: Case) -> dict[str, object]:
    live = start(prepared, options)
    try:
        return await asyncio.wait_for(case(live), RUN_TIMEOUT)
    finally:
        stop(live)


async def run_all(plan: Plan, scenarios: list[str], prepared: dict[str, Prepared | str], options: Options) -> dict:
    results: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for scenario in scenarios:
        for label, case in cases(scenario, plan, options):
            outcomes: dict[str, dict[str, Any]] = {name: {"runs": [], "failures": []} for name in prepared}
            results.setdefault(scenario, {})[label] = outcomes
            for run in range(plan.runs):
                for name, target in prepared.items():
                    tag = f"[{scenario} | {label} | run {run + 1}/{plan.runs}] {name}:"
                    if isinstance(target, str):
                        outcomes[name]["failures"].append(target)
                        continue
                    try:
                        row = await run_one(target, options, case)
                    except Exception as exc:  # one failing target must not stop the others
                        message = f"{type(exc).__name__}: {exc}"
                        outcomes[name]["failures"].append(message)
                        print(f"{tag} FAILED {message[:400]}", file=sys.stderr, flush=True)
                        continue
                    outcomes[name]["runs"].append(row)
                    print(f"{tag} {_summary(scenario, row)}", file=sys.stderr, flush=True)
            for outcome in outcomes.values():
                outcome["median"] = medians(outcome["runs"]) if outcome["runs"] else None
    return results


def pin_self(cpus: str | None) -> str | None:
    """Pin the load generator to ``cpus`` so it never competes with the server's core."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    return cpus


def git_revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=5
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--scenario", default="all", help="fanout, capacity, connect, rest, reconnect (comma-separated), or all"
    )
    p.add_argument("--targets", default=DEFAULT_TARGETS, help=f"comma-separated (default {DEFAULT_TARGETS})")
    p.add_argument("--runs", type=int, help="runs per target and case (default 3; 1 with --quick)")
    p.add_argument("--duration", type=float, help="measured seconds per run (default 10; 3 with --quick)")
    p.add_argument("--quick", action="store_true", help="a short smoke run: 1 run, 3 s windows, small bursts")
    p.add_argument("--loads", default=DEFAULT_LOADS, help="fan-out loads, CLIENTSxSENDERSxRATE, comma-separated")
    p.add_argument("--capacity-steps", help="room sizes to grow through, comma-separated")
    p.add_argument("--connect-count", type=int, help="sockets in the connect burst (default 1000; 200 with --quick)")
    p.add_argument(
        "--reconnect-count", type=int, help="sockets brought back after a restart (default 5000; 500 with --quick)"
    )
    p.add_argument(
        "--reconnect-policy",
        default="harsh,backoff",
        help=f"the reconnect storm's client retry policies, comma-separated: {', '.join(POLICIES)} (bench/retry.py)",
    )
    p.add_argument("--rest-concurrency", type=int, default=8, help="concurrent HTTP requests in the REST scenario")
    p.add_argument("--server-cpus", default="0", help="taskset -c list for the servers ('' to not pin)")
    p.add_argument("--loadgen-cpus", default="1", help="CPUs of this load generator ('' to not pin)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="a private redis-server if silent")
    p.add_argument(
        "--postgres",
        nargs="?",
        const="postgres://postgres@127.0.0.1:5432",
        help="use a temporary PostgreSQL database on this server instead of SQLite",
    )
    p.add_argument("--output", type=Path, default=PROJECT_DIR / "bench" / "results")
    p.add_argument(
        "--profile",
        action="store_true",
        help="sample the project's processes with py-spy (bench/requirements-profile.txt); writes the "
        "tables and profiles.md to <output>/profiles/<time>-<scenarios>/, not latest.md; best with one scenario",
    )
    args = p.parse_args(argv)
    args.scenarios = list(IN_ALL) if args.scenario == "all" else args.scenario.split(",")
    if unknown := set(args.scenarios) - set(SCENARIOS):
        p.error(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)} or all")
    args.reconnect_policies = [name.strip() for name in args.reconnect_policy.split(",") if name.strip()]
    if bad := set(args.reconnect_policies) - set(POLICIES):
        p.error(f"unknown retry policy {sorted(bad)}; choose from {', '.join(POLICIES)}")
    try:
        args.specs = [parse_target(name.strip()) for name in args.targets.split(",") if name.strip()]
    except ValueError as exc:
        p.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    single_core = (os.cpu_count() or 1) < 2
    options = Options(
        server_cpus=None if single_core else (args.server_cpus or None),
        users=plan.users,
        redis=Redis(args.redis_url),
        postgres_url=args.postgres,
    )
    loadgen_cpus = None if single_core else pin_self(args.loadgen_cpus or None)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    revision = git_revision()  # at the start: the servers run the code checked out now
    if args.profile:
        options.profile_dir = args.output / "profiles" / f"{started.replace(':', '')}-{'-'.join(args.scenarios)}"
        options.profiler_cpus = loadgen_cpus
    prepared: dict[str, Prepared | str] = {}
    try:
        for spec in args.specs:
            print(f"preparing {spec.name}...", file=sys.stderr, flush=True)
            try:
                prepared[spec.name] = prepare(spec, options)
            except TargetError as exc:
                prepared[spec.name] = f"could not prepare: {exc}"
                print(f"  {prepared[spec.name]}", file=sys.stderr, flush=True)
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            scenarios = runner.run(run_all(plan, args.scenarios, prepared, options))
    finally:
        for target in prepared.values():
            if not isinstance(target, str):
                cleanup(target, options)
        options.redis.stop()
    results: dict[str, Any] = {
        "machine": procfs.machine(),
        "started": started,
        "git": revision,
        "command": "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv),
        "options": {
            "server_cpus": options.server_cpus or "not pinned",
            "loadgen_cpus": loadgen_cpus or "not pinned",
            "database": "PostgreSQL (a temporary database)" if args.postgres else "SQLite (a temporary file)",
            "plan": {k: str(v) for k, v in vars(plan).items()},
        },
        "scenarios": scenarios,
    }
    # A profiled run is slowed by sampling: its tables go next to its profiles, never over latest.md.
    output = options.profile_dir or args.output
    paths = report.write(results, output)
    raw = args.output / "raw" / f"{started.replace(':', '')}.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(report.markdown(results))
    if options.profile_dir and (summary := profile_report.write_summary(options.profile_dir, results["command"])):
        paths.append(summary)
    print("wrote " + ", ".join(os.path.relpath(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
