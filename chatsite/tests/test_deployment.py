"""The scaled deployment's files (docker-compose.yml, Dockerfile, deploy/) checked without Docker.

These read the files as data and compare them with each other and with settings.py, so a renamed variable,
a dropped health check or a log format that leaks query strings (where WebSocket tokens travel) fails here.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import json
import os
import re
import secrets
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
HEALTHCHECK_SCRIPT = ROOT / "deploy" / "healthcheck.py"
WORKER_HEALTHCHECK_SCRIPT = ROOT / "deploy" / "worker_healthcheck.py"
SETTINGS_PY = ROOT / "chatsite" / "settings.py"
GUNICORN_CONF = ROOT / "chatsite" / "gunicorn_conf.py"
GUNICORN_COMMAND = ["python", "-m", "gunicorn", "-c", "python:chatsite.gunicorn_conf", "chatsite.wsgi:application"]

WEB_ENV = {
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_BEHIND_PROXY",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_MEDIA_ROOT",
}
QUERY_STRING_VARIABLES = re.compile(r"\$\{?(request|request_uri|args|query_string|is_args|arg_\w+|http_referer)\b")


# --- Readers ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def service(compose: dict, name: str) -> dict:
    return compose["services"][name]


def environment(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(svc: dict) -> dict[str, str]:
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def interpolate(value: str, given: dict[str, str]) -> str:
    """Resolve compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?message}`` as compose would."""

    def one(match: re.Match) -> str:
        name, operator, operand = match.groups()
        if given.get(name):
            return given[name]
        assert operator != "?", f"{name} is required"
        return operand if operator == "-" else ""

    return re.sub(r"\$\{(\w+)(?::?([-?])([^}]*))?\}", one, value)


def healthcheck_command(svc: dict) -> str:
    test = (svc.get("healthcheck") or {}).get("test") or []
    return test if isinstance(test, str) else " ".join(test)


def _env_name(node: ast.AST) -> str | None:
    """The variable name an ``env_*("NAME", ...)``, ``os.environ.get("NAME")`` or ``os.environ["NAME"]`` reads."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        helper = isinstance(func, ast.Name) and func.id.startswith("env_")
        os_call = isinstance(func, ast.Attribute) and func.attr in {"get", "getenv"}
        value = node.args[0].value
        return value if (helper or os_call) and isinstance(value, str) else None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
        key = node.slice.value if isinstance(node.slice, ast.Constant) else None
        return key if isinstance(key, str) else None
    return None


def settings_env_names(path: Path = SETTINGS_PY) -> set[str]:
    """Every environment variable name settings.py (or another module) reads."""
    names = {_env_name(node) for node in ast.walk(ast.parse(path.read_text()))}
    return {name for name in names if isinstance(name, str)}


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = field(default=None)


_NGINX_TOKEN = re.compile(r"""\s+|\#[^\n]*|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};'"]+)""")


def parse_nginx(text: str) -> list[Directive]:
    """A small nginx config parser: directives with their arguments and nested blocks."""
    root: list[Directive] = []
    stack: list[list[Directive]] = [root]
    words: list[str] = []
    for match in _NGINX_TOKEN.finditer(text):
        single, double, punct, word = match.groups()
        if punct == "{":
            block: list[Directive] = []
            stack[-1].append(Directive(words[0], words[1:], block))
            stack.append(block)
            words = []
        elif punct == ";":
            stack[-1].append(Directive(words[0], words[1:]))
            words = []
        elif punct == "}":
            stack.pop()
        elif word is not None or single is not None or double is not None:
            words.append(next(part for part in (single, double, word) if part is not None))
    assert len(stack) == 1, "unbalanced braces in nginx.conf"
    return root


def walk(nodes: list[Directive], name: str | None = None):
    for node in nodes:
        if name is None or node.name == name:
            yield node
        if node.block is not None:
            yield from walk(node.block, name)


def http_block(nginx: list[Directive]) -> list[Directive]:
    (http,) = [node for node in nginx if node.name == "http"]
    assert http.block is not None
    return http.block


def values(block: list[Directive], name: str) -> list[list[str]]:
    """Arguments of each ``name`` directive directly in ``block``."""
    return [node.args for node in block if node.name == name]


def proxy_headers(block: list[Directive]) -> dict[str, str]:
    return {args[0].lower(): " ".join(args[1:]) for args in values(block, "proxy_set_header")}


def nginx_seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value)
    assert match, f"not an nginx time: {value}"
    return int(match.group(1)) * {"ms": 0, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}[match.group(2)]


def nginx_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert match, f"not an nginx size: {value}"
    return int(match.group(1)) * 1024 ** {"": 0, "k": 1, "m": 2, "g": 3}[match.group(2).lower()]


@pytest.fixture(scope="module")
def nginx() -> list[Directive]:
    return parse_nginx(NGINX_CONF.read_text())


@pytest.fixture(scope="module")
def server(nginx) -> list[Directive]:
    servers = list(walk(nginx, "server"))
    assert len(servers) == 1, "the proxy serves exactly one site"
    return servers[0].block


def location(server: list[Directive], *args: str) -> list[Directive]:
    for node in server:
        if node.name == "location" and node.args == list(args) and node.block is not None:
            return node.block
    raise AssertionError(f"no `location {' '.join(args)}` in nginx.conf")


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) pairs, continuation lines joined, comments dropped."""
    logical, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1].strip()) for text in logical]


def instructions(dockerfile, name: str) -> list[str]:
    return [rest for instruction, rest in dockerfile if instruction == name]


def exec_form(rest: str) -> list[str]:
    command = json.loads(rest)
    assert isinstance(command, list), f"use the exec (JSON) form: {rest}"
    return command


def dockerfile_healthcheck(dockerfile) -> list[str]:
    (rest,) = instructions(dockerfile, "HEALTHCHECK")
    return exec_form(rest[rest.index("CMD") + len("CMD") :].strip())


# --- docker-compose.yml -----------------------------------------------------------------------------------


def test_compose_defines_the_whole_topology(compose):
    assert {"postgres", "redis", "migrate", "web", "http", "worker", "proxy"} <= set(compose["services"])


def test_services_start_only_when_what_they_need_is_ready(compose):
    assert depends_on(service(compose, "migrate")) == {"postgres": "service_healthy"}
    assert depends_on(service(compose, "web")) == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    assert depends_on(service(compose, "proxy")) == {"web": "service_healthy", "http": "service_healthy"}
    assert depends_on(service(compose, "worker")) == depends_on(service(compose, "web"))
    assert depends_on(service(compose, "http")) == depends_on(service(compose, "web"))


@pytest.mark.parametrize(
    ("name", "probe"),
    [
        ("postgres", "pg_isready"),
        ("redis", "redis-cli ping"),
        ("web", "/healthz"),
        ("http", "/healthz"),
        ("proxy", "/healthz"),
        ("worker", "worker_healthcheck.py"),
    ],
)
def test_long_running_services_have_health_checks(compose, name, probe):
    check = service(compose, name).get("healthcheck") or {}

    assert not check.get("disable")
    assert probe in healthcheck_command(service(compose, name))
    assert "curl" not in healthcheck_command(service(compose, name))


def test_web_runs_replicas_that_share_one_media_volume(compose):
    web = service(compose, "web")
    media_root = environment(web)["DJANGO_MEDIA_ROOT"]
    mounts = [str(volume).split(":") for volume in web.get("volumes", [])]

    assert web["deploy"]["replicas"] >= 2
    assert media_root == "/data/media"
    assert [source for source, target, *_ in mounts if target == media_root] == ["media"]
    assert "media" in compose["volumes"]


def test_replicas_publish_no_fixed_port_or_name(compose):
    web = service(compose, "web")

    assert "ports" not in web
    assert "container_name" not in web
    for name in ("postgres", "redis", "web", "http", "migrate", "worker"):
        assert "ports" not in service(compose, name), f"only the proxy is reachable from outside: {name}"


def test_postgres_16_keeps_its_data_on_a_named_volume(compose):
    postgres = service(compose, "postgres")

    assert postgres["image"].startswith("postgres:16")
    assert any(str(volume).split(":")[:2] == ["pgdata", "/var/lib/postgresql/data"] for volume in postgres["volumes"])
    assert "pgdata" in compose["volumes"]


def test_redis_7_persists_nothing(compose):
    redis = service(compose, "redis")
    command = redis["command"] if isinstance(redis["command"], list) else redis["command"].split()

    assert redis["image"].startswith("redis:7")
    assert command[command.index("--save") + 1] in {"", '""'}
    assert command[command.index("--appendonly") + 1] == "no"


def test_migrate_is_a_one_shot_run_of_the_web_image(compose):
    migrate, web = service(compose, "migrate"), service(compose, "web")

    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate.get("restart", "no") == "no"
    assert migrate["image"] == web["image"]
    assert migrate.get("build") == web.get("build") == "."


def test_compose_sets_only_variables_that_settings_reads(compose):
    # Besides settings: gunicorn's configuration, and prometheus_client's multiprocess directory.
    names = settings_env_names() | settings_env_names(GUNICORN_CONF) | {"PROMETHEUS_MULTIPROC_DIR"}
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_MEDIA_ROOT"} <= names  # the parser works
    assert {"CHAT_HTTP_WORKERS", "CHAT_HTTP_BIND"} <= names

    for name in ("web", "http", "migrate", "worker", "proxy"):
        unknown = set(environment(service(compose, name))) - names
        assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"
    assert set(environment(service(compose, "web"))) >= WEB_ENV


def test_workers_run_replicas_of_the_web_image_on_the_same_services(compose):
    worker, web = service(compose, "worker"), service(compose, "web")
    worker_env, web_env = environment(worker), environment(web)
    heartbeat = worker_env["CHAT_JOBS_HEARTBEAT_FILE"]

    assert worker["command"] == ["python", "manage.py", "jobs_worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert worker["image"] == web["image"]
    assert worker.get("restart") == "unless-stopped"
    assert worker.get("init") is True  # signals reach the worker, its job processes are reaped
    # The same database, Redis and key as the web replicas; jobs never run inside a web replica.
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_MEDIA_ROOT"):
        assert worker_env[name] == web_env[name]
    assert web_env["CHAT_JOBS_WORKER"] == worker_env["CHAT_JOBS_WORKER"] == "external"
    assert worker["healthcheck"]["test"][-2:] == [heartbeat, worker["healthcheck"]["test"][-1]]
    assert any(str(volume).split(":")[:2] == ["media", "/data/media"] for volume in worker["volumes"])


def test_web_is_wired_to_the_compose_services(compose):
    env = environment(service(compose, "web"))

    database = urlsplit(interpolate(env["DATABASE_URL"], {"POSTGRES_PASSWORD": "0123abcd"}))
    redis = urlsplit(env["REDIS_URL"])
    assert (database.scheme, database.hostname, database.port, database.path) == ("postgres", "postgres", 5432, "/chat")
    postgres = environment(service(compose, "postgres"))
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == interpolate(postgres["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": "0123abcd"})
    assert database.path == "/" + postgres["POSTGRES_DB"]
    assert (redis.scheme, redis.hostname) == ("redis", "redis")
    assert env["DJANGO_BEHIND_PROXY"] == "true"
    # `?` makes compose refuse to start without a key instead of running on an empty or default one.
    assert re.fullmatch(r"\$\{DJANGO_SECRET_KEY:?\?[^}]+\}", env["DJANGO_SECRET_KEY"])


def test_the_proxy_health_check_names_a_host_django_accepts(compose):
    web, proxy = environment(service(compose, "web")), environment(service(compose, "proxy"))

    assert proxy["DJANGO_ALLOWED_HOSTS"] == web["DJANGO_ALLOWED_HOSTS"]
    assert "DJANGO_ALLOWED_HOSTS" in healthcheck_command(service(compose, "proxy"))


def test_proxy_runs_nginx_with_the_whole_config_replaced(compose):
    proxy = service(compose, "proxy")

    assert proxy["image"].startswith("nginx:")
    # Replacing nginx.conf (not adding to conf.d/) drops the image's default site and its `$request` log.
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert [str(port).rsplit(":", 1)[-1] for port in proxy["ports"]] == ["80"]


@pytest.fixture(scope="module")
def http_port(compose) -> int:
    return int(environment(service(compose, "http"))["CHAT_HTTP_BIND"].rsplit(":", 1)[1])


def test_http_runs_gunicorn_workers_of_the_web_image(compose, http_port):
    http, web = service(compose, "http"), service(compose, "web")
    env, web_env = environment(http), environment(web)
    workers = int(interpolate(env["CHAT_HTTP_WORKERS"], {}))

    assert http["command"] == GUNICORN_COMMAND
    assert GUNICORN_CONF.is_file()
    assert http["image"] == web["image"]
    assert http.get("init") is True  # SIGTERM reaches gunicorn's arbiter, which stops its workers gracefully
    assert http["deploy"]["replicas"] >= 2
    assert workers >= 2
    assert int(interpolate(env["CHAT_HTTP_WORKERS"], {"CHAT_HTTP_WORKERS": "9"})) == 9  # the operator's choice
    assert env["CHAT_HTTP_BIND"] == f"0.0.0.0:{http_port}"  # the proxy reaches it over the network
    assert http["expose"] == [str(http_port)]
    assert urlsplit(http["healthcheck"]["test"][-1]).port == http_port
    for name in WEB_ENV | {"CHAT_JOBS_WORKER", "CHAT_SECURE_COOKIES"}:
        assert env[name] == web_env[name], name
    assert any(str(volume).split(":")[:2] == ["media", "/data/media"] for volume in http["volumes"])


def test_http_workers_share_an_in_memory_metrics_directory(compose):
    env = environment(service(compose, "http"))

    # Every worker's files in one directory (any worker answers for all), in memory, and never on a volume.
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/dev/shm/")
    assert not any(env["PROMETHEUS_MULTIPROC_DIR"] in str(volume) for volume in service(compose, "http")["volumes"])
    assert "PROMETHEUS_MULTIPROC_DIR" not in environment(service(compose, "web"))  # one process per container
    # gunicorn writes no access log; Django's line carries the request id.
    assert env["CHAT_REQUEST_LOG"] == "true"


def test_the_image_can_run_the_http_service(dockerfile, http_port):
    exposed = {port for rest in instructions(dockerfile, "EXPOSE") for port in rest.split()}
    locked = (ROOT / "requirements.lock").read_text()

    assert str(http_port) in exposed
    assert re.search(r"^gunicorn==", locked, re.MULTILINE)  # installed from the lock, like everything else
    assert re.search(r"^prometheus-client==", locked, re.MULTILINE)


def test_the_gunicorn_configuration_reads_its_variables(monkeypatch):
    import importlib

    from chatsite import gunicorn_conf

    monkeypatch.setenv("CHAT_HTTP_WORKERS", "7")
    monkeypatch.setenv("CHAT_HTTP_BIND", "0.0.0.0:8001")
    monkeypatch.setenv("CHAT_SHUTDOWN_TIMEOUT", "15")
    config = importlib.reload(gunicorn_conf)

    assert (config.workers, config.bind, config.graceful_timeout) == (7, ["0.0.0.0:8001"], 15)
    assert config.worker_class == "sync"
    assert config.max_requests == 0  # recycled workers would leave their metric files behind
    assert config.accesslog is None


def test_gunicorns_hooks_keep_the_metrics_directory_clean(monkeypatch):
    from chatsite import gunicorn_conf

    calls: list[tuple[str, object]] = []

    def prepare() -> list[int]:
        calls.append(("prepare", None))
        return []

    monkeypatch.setattr(gunicorn_conf.metrics, "prepare_directory", prepare)
    monkeypatch.setattr(gunicorn_conf.metrics, "mark_dead", lambda pid: calls.append(("dead", pid)))

    class Worker:
        pid = 4242

    gunicorn_conf.on_starting(object())
    gunicorn_conf.child_exit(object(), Worker())

    assert calls == [("prepare", None), ("dead", 4242)]


def test_replicas_take_the_metrics_token_from_the_operator(compose):
    for name in ("web", "http"):
        assert environment(service(compose, name))["CHAT_METRICS_TOKEN"] == "${CHAT_METRICS_TOKEN:-}"


# --- deploy/nginx.conf ------------------------------------------------------------------------------------


def test_nginx_listens_where_compose_publishes(server):
    assert values(server, "listen")[0][0] == "80"


def test_nginx_upgrades_websockets(nginx, server):
    ws = location(server, "/ws/")
    headers = proxy_headers(ws)
    maps = {node.args[1]: node.block for node in walk(nginx, "map") if node.args[0] == "$http_upgrade"}

    assert values(ws, "proxy_http_version") == [["1.1"]]
    assert headers["upgrade"] == "$http_upgrade"
    connection = headers["connection"]
    assert connection == "upgrade" or any(d.name == "default" and d.args == ["upgrade"] for d in maps[connection])
    assert nginx_seconds(values(ws, "proxy_read_timeout")[0][0]) >= 3600
    assert nginx_seconds(values(ws, "proxy_send_timeout")[0][0]) >= 3600


def test_every_proxied_location_forwards_host_client_and_scheme(server):
    proxied = [node.block for node in server if node.name == "location" and values(node.block, "proxy_pass")]

    assert len(proxied) >= 2  # /ws/ and everything else
    for block in proxied:
        headers = proxy_headers(block)
        assert headers["host"] in {"$host", "$http_host"}
        # Overwritten, never $proxy_add_x_forwarded_for: daphne trusts the first address, throttles key on it.
        assert headers["x-forwarded-for"] == "$remote_addr"
        assert "x-forwarded-proto" in headers


def test_nginx_balances_over_the_web_service_by_docker_dns(nginx, server, dockerfile, http_port):
    targets = {args[0] for node in walk(nginx, "location") for args in values(node.block, "proxy_pass")}
    variables = {args[0]: args[1] for args in values(server, "set")}
    upstreams = {node.args[0]: node.block for node in walk(nginx, "upstream")}
    resolved = set()
    for target in targets:
        target = variables.get(target, target)
        host = urlsplit(target).netloc
        resolved |= {args[0] for args in values(upstreams[host], "server")} if host in upstreams else {host}
    cmd = exec_form(instructions(dockerfile, "CMD")[-1])

    assert resolved == {f"web:{cmd[cmd.index('-p') + 1]}", f"http:{http_port}"}
    if any(target.startswith("$") for target in targets):
        assert any(args[0] == "127.0.0.11" for args in values(http_block(nginx), "resolver"))


def _upstream(server: list[Directive], block: list[Directive]) -> str:
    variables = {args[0]: args[1] for args in values(server, "set")}
    (target,) = [args[0] for args in values(block, "proxy_pass")]
    return urlsplit(variables.get(target, target)).netloc


def test_nginx_sends_sockets_to_daphne_and_everything_else_to_gunicorn(server, http_port):
    assert _upstream(server, location(server, "/ws/")).startswith("web:")
    assert _upstream(server, location(server, "/")) == f"http:{http_port}"


def test_nginx_never_forwards_metrics(server):
    (returned,) = values(location(server, "=", "/metrics"), "return")

    assert returned[0] == "404"
    assert json.loads(returned[1])["code"] == "not_found"


def test_nginx_body_limit_is_the_servers_body_limit(server):
    assert nginx_bytes(values(server, "client_max_body_size")[0][0]) == django_settings.CHAT_MAX_BODY_BYTES


def test_nginx_refuses_a_too_large_body_with_json(server):
    (error_page,) = [args for args in values(server, "error_page") if "413" in args]
    target = error_page[-1]
    block = location(server, target) if target.startswith("@") else location(server, "=", target)
    (returned,) = values(block, "return")

    assert values(block, "default_type") == [["application/json"]]
    assert returned[0] == "413"
    body = json.loads(returned[1])
    assert body["code"] == "too_large"
    assert isinstance(body["detail"], str)
    assert body["detail"]


def test_nginx_logs_never_contain_query_strings(nginx):
    formats = {node.args[0]: "".join(node.args[1:]) for node in walk(nginx, "log_format")}
    access_logs = [node.args for node in walk(nginx, "access_log")]

    assert formats
    for name, text in formats.items():
        assert not QUERY_STRING_VARIABLES.search(text), f"log_format {name} can log a token: {text}"
        assert "$uri" in text
    # Without an http-level access_log nginx falls back to `combined`, which logs $request.
    assert any(node.name == "access_log" for node in http_block(nginx))
    for args in access_logs:
        assert args == ["off"] or (len(args) >= 2 and args[1] in formats), f"access_log without our format: {args}"


def test_nginx_error_log_omits_request_lines(nginx):
    # nginx appends the request line, query string included, to every error-log line about a request.
    levels = [args[1] if len(args) > 1 else "error" for args in (node.args for node in walk(nginx, "error_log"))]

    assert levels
    assert set(levels) <= {"crit", "alert", "emerg"}


def test_nginx_serves_nothing_but_the_proxy(server):
    for node in walk(server):
        assert node.name not in {"root", "alias", "autoindex", "try_files", "include"}, node
    for node in server:
        if node.name == "location":
            assert values(node.block, "proxy_pass") or values(node.block, "return"), node.args


# --- Dockerfile and the health-check script ---------------------------------------------------------------


def test_image_is_python_311_slim_running_as_a_non_root_user(dockerfile):
    assert instructions(dockerfile, "FROM") == ["python:3.11-slim"]
    user = instructions(dockerfile, "USER")[-1]
    assert user.split(":")[0] not in {"root", "0"}
    assert any("pip install --require-hashes -r requirements.lock" in run for run in instructions(dockerfile, "RUN"))


def test_static_files_are_collected_at_build_with_a_placeholder_key(dockerfile):
    (run,) = [run for run in instructions(dockerfile, "RUN") if "collectstatic" in run]

    assert re.search(r"DJANGO_SECRET_KEY=\S+ python manage\.py collectstatic --noinput", run)


def test_image_serves_through_the_token_redacting_entry_point(dockerfile):
    cmd = exec_form(instructions(dockerfile, "CMD")[-1])

    assert cmd[:3] == ["python", "-m", "chatsite.serve"]
    # Every interface of the container: the proxy reaches the replicas over the compose network.
    assert cmd[cmd.index("-b") + 1] == "0.0.0.0"  # noqa: S104
    assert "--proxy-headers" in cmd


def test_image_health_check_uses_python_on_healthz(dockerfile, compose):
    command = dockerfile_healthcheck(dockerfile)
    cmd = exec_form(instructions(dockerfile, "CMD")[-1])
    url = urlsplit(command[-1])

    assert command[0] == "python"
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", int(cmd[cmd.index("-p") + 1]), "/healthz")
    assert service(compose, "web")["healthcheck"]["test"] == ["CMD", *command]
    workdir = Path(instructions(dockerfile, "WORKDIR")[-1])
    assert (ROOT / Path(command[1]).relative_to(workdir)).is_file()


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".env", ".venv", ".git", "db.sqlite3*"} <= ignored
    assert "deploy" not in ignored


@pytest.fixture(scope="module")
def healthcheck():
    spec = importlib.util.spec_from_file_location("deploy_healthcheck", HEALTHCHECK_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("chat.example.com,api.example.com", "chat.example.com"),
        (" .example.com , other", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
        (None, "localhost"),
    ],
)
def test_health_check_sends_the_first_allowed_host(healthcheck, allowed, host):
    assert healthcheck.health_host(allowed) == host


class _Replica(BaseHTTPRequestHandler):
    status = 200
    hosts: list[str] = []

    def do_GET(self):
        type(self).hosts.append(self.headers["Host"])
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def replica():
    _Replica.hosts = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Replica)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/healthz"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1), (301, 1)])
def test_health_check_exit_status_follows_the_answer(healthcheck, replica, monkeypatch, status, exit_code):
    monkeypatch.setattr(_Replica, "status", status)
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "chat.example.com")

    assert healthcheck.main(["healthcheck.py", replica]) == exit_code
    assert _Replica.hosts == ["chat.example.com"]


def test_health_check_fails_when_nothing_listens(healthcheck, replica):
    closed = replica.rsplit(":", 1)[0] + ":1/healthz"

    assert healthcheck.main(["healthcheck.py", closed]) == 1


@pytest.fixture(scope="module")
def worker_healthcheck():
    spec = importlib.util.spec_from_file_location("worker_healthcheck", WORKER_HEALTHCHECK_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_worker_health_follows_the_age_of_its_heartbeat(worker_healthcheck, tmp_path):
    beat = tmp_path / "heartbeat"
    beat.touch()
    stale = beat.stat().st_mtime + 31

    assert worker_healthcheck.main(["worker_healthcheck.py", str(beat), "30"]) == 0
    assert worker_healthcheck.fresh(str(beat), max_age=30, now=stale) is False
    assert worker_healthcheck.main(["worker_healthcheck.py", str(tmp_path / "missing"), "30"]) == 1
    assert worker_healthcheck.main(["worker_healthcheck.py"]) == 1  # no file named at all


# --- Production settings ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_check_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/users/").status_code == 301


def _manage_check_deploy(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    prefixes = ("DJANGO_", "CHAT_", "DATABASE_", "REDIS_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_production_environment(tmp_path):
    result = _manage_check_deploy(
        {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60)[:60],
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "chat.example.com",
            "DJANGO_BEHIND_PROXY": "true",
            "DJANGO_SECURE_SSL_REDIRECT": "true",
            "DJANGO_SECURE_HSTS_SECONDS": "31536000",
            "CHAT_SECURE_COOKIES": "true",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_check_deploy_still_flags_development_defaults(tmp_path):
    result = _manage_check_deploy({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W009"):
        assert warning in result.stderr


# --- Locked dependencies and their audit ------------------------------------------------------------------

LOCKS = {"requirements.txt": "requirements.lock", "requirements-dev.txt": "requirements-dev.lock"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    """``{normalised name: version}`` of the ``name==version`` lines of a requirements file."""
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in PIN.findall(text)}


@pytest.mark.parametrize(("requirements", "lock"), sorted(LOCKS.items()))
def test_each_lock_pins_its_requirements_as_they_are_written(requirements, lock):
    wanted = pins((ROOT / requirements).read_text())
    locked = pins((ROOT / lock).read_text())

    assert wanted
    stale = {name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version}
    assert stale == {}, f"{requirements} changed: run `make lock`"


@pytest.mark.parametrize("lock", sorted(LOCKS.values()))
def test_every_locked_package_carries_its_hashes(lock):
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=\S)", text)  # a package's hashes are its indented continuation lines
    packages = [entry for entry in entries if PIN.match(entry)]

    assert len(packages) == len(pins(text))
    assert all("--hash=sha256:" in entry for entry in packages)


def test_the_dev_lock_agrees_with_the_runtime_lock():
    runtime = pins((ROOT / "requirements.lock").read_text())
    dev = pins((ROOT / "requirements-dev.lock").read_text())

    assert {name: dev.get(name) for name in runtime} == runtime


@pytest.fixture(scope="module")
def audit_script():
    loader = importlib.machinery.SourceFileLoader("audit_dependencies", str(ROOT / "scripts/audit_dependencies.py"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_audit_fails_on_a_vulnerability(audit_script):
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["5.2.1"]}]},
            {"name": "redis", "version": "8.1.0", "vulns": []},
        ]
    }

    status, lines = audit_script.summarise(report)

    assert status == 1
    assert lines[0] == "VULNERABLE django 5.2.0: PYSEC-1 (fixed in: 5.2.1)"


def test_the_audit_passes_when_nothing_is_known(audit_script):
    status, lines = audit_script.summarise({"dependencies": [{"name": "redis", "version": "8.1.0", "vulns": []}]})

    assert (status, lines) == (0, ["No known vulnerabilities in 1 audited package(s)."])


def test_an_unreachable_vulnerability_service_is_a_notice_not_a_failure(audit_script):
    reason = "Dependency not found on PyPI and could not be audited: django (5.2.19)"
    report = {"dependencies": [{"name": "django", "skip_reason": reason}, {"name": "redis", "skip_reason": reason}]}

    status, lines = audit_script.summarise(report)

    assert status == 0
    assert len(lines) == 1
    assert lines[0].startswith("NOTICE: none of the 2 locked packages could be audited")


# --- the Grafana dashboard --------------------------------------------------------------------------------

DASHBOARD = ROOT / "deploy" / "grafana-dashboard.json"
_SERIES_SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def exported_metric_names() -> set[str]:
    """Every metric name /metrics can show: the project's collectors' names, and the job queue's."""
    from prometheus_client import REGISTRY

    import core.metrics  # noqa: F401  (defines them)
    from jobs.metrics import NAME as JOBS

    return {family.name for family in REGISTRY.collect() if family.name.startswith("chat_")} | {JOBS}


def test_the_dashboard_parses_and_names_only_metrics_that_exist():
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    named = {name for expr in expressions for name in re.findall(r"\b(chat_[a-z_]+)", expr)}
    families = set()
    for name in named:
        for suffix in _SERIES_SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in exported_metric_names():
                name = name[: -len(suffix)]
                break
        families.add(name)

    assert dashboard["title"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    assert families - exported_metric_names() == set()
    # Every metric the service exports is on the dashboard.
    assert {name for name in exported_metric_names() if name.startswith("chat_")} <= families
