"""Checks that compose.yaml, the Dockerfile and .env.example agree with the CLI and the settings."""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from energy_core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES: dict[str, dict] = COMPOSE["services"]

REQUIRED_SERVICES = {"db", "redis", "migrate", "ingest", "scheduler", "app", "simulator"}
SERVICES_WITH_HEALTHCHECKS = {"db", "redis", "ingest", "app"}
PUBLISHED_PORTS = {"ingest": 8000, "app": 8501}
# Only `energy-monitor up` sets it; a production operator must not.
SETTINGS_NOT_FOR_OPERATORS = {"demo_mode"}

ENV_PREFIX = Settings.model_config["env_prefix"]
SETTING_VARIABLES = {ENV_PREFIX + name.upper(): name for name in Settings.model_fields}
ENERGY_VARIABLE = re.compile(r"\bENERGY_[A-Z0-9_]+\b")
ENV_ASSIGNMENT = re.compile(r"^#?\s*(ENERGY_[A-Z0-9_]+)=(.*)$")


# --- helpers ---------------------------------------------------------------------------------


def command_argv(command: str | list) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def energy_monitor_calls(argv: list[str]) -> list[list[str]]:
    """Every `energy-monitor ...` call in a command, including those in `sh -c "a && b"`."""
    if len(argv) >= 3 and argv[0] in {"sh", "bash"} and argv[1] == "-c":
        calls = [shlex.split(part) for part in re.split(r"&&|\|\||;|\n", argv[2])]
        return [call for call in calls if call[:1] == ["energy-monitor"]]
    return [argv] if argv[:1] == ["energy-monitor"] else []


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    # argparse has no public way to list subparsers; _SubParsersAction.choices is the usual one.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_problem(parser: argparse.ArgumentParser, call: list[str]) -> str | None:
    """Why `call` is not a complete, valid energy-monitor command line, or None if it is."""
    node, path = parser, ["energy-monitor"]
    for token in call[1:]:
        choices = subcommands(node)
        if not choices or token.startswith("-"):
            break
        if token not in choices:
            return f"`{' '.join(path)}` has no subcommand {token!r}; it has {sorted(choices)}"
        node, path = choices[token], [*path, token]
    else:
        if choices := subcommands(node):
            return f"`{' '.join(path)}` needs a subcommand, one of {sorted(choices)}"
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(call[1:])
    except SystemExit:
        return f"`{shlex.join(call)}` is rejected by the CLI: {stderr.getvalue().strip()}"
    return None


def environment_names(service: dict) -> list[str]:
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        return list(environment)
    return [entry.split("=", 1)[0] for entry in environment]


def dependency_conditions(service: dict) -> dict[str, str]:
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends_on.items()}


def container_port(mapping: str | int | dict) -> int:
    if isinstance(mapping, dict):
        return int(mapping["target"])
    return int(str(mapping).split(":")[-1].split("/")[0])


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def env_example_assignments() -> dict[str, str]:
    """ENERGY_* assignments in .env.example, including commented-out ones."""
    assignments = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := ENV_ASSIGNMENT.match(line.strip()):
            assignments[match[1]] = match[2].strip()
    return assignments


@pytest.fixture(scope="module")
def cli_parser() -> argparse.ArgumentParser:
    from energy_cli.main import build_parser

    return build_parser()


# --- compose.yaml ----------------------------------------------------------------------------


def test_compose_defines_every_service_of_the_deployment():
    missing = REQUIRED_SERVICES - set(SERVICES)
    assert not missing, f"compose.yaml lacks services {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if "build" in s))
def test_every_service_built_from_the_repo_runs_the_energy_monitor_cli(name):
    argv = command_argv(SERVICES[name].get("command") or [])
    assert energy_monitor_calls(argv), f"service {name!r} runs {argv}, not energy-monitor"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_commands_use_subcommands_and_options_the_cli_really_has(cli_parser, name):
    command = SERVICES[name].get("command")
    calls = energy_monitor_calls(command_argv(command)) if command else []
    problems = [problem for call in calls if (problem := cli_problem(cli_parser, call))]
    assert not problems, f"service {name!r}: " + "; ".join(problems)


def test_dockerfile_default_command_is_a_real_cli_subcommand(cli_parser):
    commands = [rest for keyword, rest in dockerfile_instructions() if keyword == "CMD"]
    assert commands, "the Dockerfile has no CMD"
    argv = json.loads(commands[-1]) if commands[-1].startswith("[") else shlex.split(commands[-1])
    assert argv[:1] == ["energy-monitor"], f"default CMD {argv} does not run energy-monitor"
    assert cli_problem(cli_parser, argv) is None, cli_problem(cli_parser, argv)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_environment_sets_only_real_settings(name):
    unknown = [
        variable
        for variable in environment_names(SERVICES[name])
        if variable.startswith(ENV_PREFIX) and variable not in SETTING_VARIABLES
    ]
    assert not unknown, f"service {name!r} sets {unknown}, which Settings does not have"


@pytest.mark.parametrize("path", [COMPOSE_FILE, ENV_EXAMPLE, DOCKERFILE], ids=lambda p: p.name)
def test_every_energy_variable_named_in_a_deployment_file_is_a_setting(path):
    named = set(ENERGY_VARIABLE.findall(path.read_text(encoding="utf-8")))
    unknown = sorted(named - set(SETTING_VARIABLES))
    assert not unknown, f"{path.name} names {unknown}; Settings has {sorted(SETTING_VARIABLES)}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_depends_on_targets_exist(name):
    missing = sorted(set(dependency_conditions(SERVICES[name])) - set(SERVICES))
    assert not missing, f"service {name!r} depends on undefined services {missing}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_waiting_for_a_healthy_service_is_possible_because_it_has_a_healthcheck(name):
    # Compose would wait forever for `service_healthy` on a service that never reports health.
    without = [
        target
        for target, condition in dependency_conditions(SERVICES[name]).items()
        if condition == "service_healthy" and "healthcheck" not in SERVICES.get(target, {})
    ]
    assert not without, f"service {name!r} waits for health of {without}, which have none"


@pytest.mark.parametrize("name", sorted(SERVICES_WITH_HEALTHCHECKS))
def test_long_running_servers_have_healthchecks(name):
    healthcheck = SERVICES[name].get("healthcheck") or {}
    assert healthcheck.get("test") and not healthcheck.get("disable"), (
        f"service {name!r} needs a healthcheck"
    )


def test_ingest_and_app_health_endpoints_are_the_ones_they_serve():
    assert "/health" in str(SERVICES["ingest"]["healthcheck"]["test"])
    assert "/_stcore/health" in str(SERVICES["app"]["healthcheck"]["test"])


@pytest.mark.parametrize(("name", "port"), sorted(PUBLISHED_PORTS.items()))
def test_ingest_and_app_ports_are_published(name, port):
    published = [container_port(mapping) for mapping in SERVICES[name].get("ports", [])]
    assert port in published, f"service {name!r} publishes {published}, not {port}"


# --- Dockerfile ------------------------------------------------------------------------------


def test_docker_image_runs_as_a_non_root_user():
    users = [rest for keyword, rest in dockerfile_instructions() if keyword == "USER"]
    assert users, "the Dockerfile never switches away from root (no USER)"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"the image runs as {users[-1]!r}"


def test_docker_image_is_based_on_slim_python():
    bases = [rest.split()[0] for keyword, rest in dockerfile_instructions() if keyword == "FROM"]
    assert bases, "the Dockerfile has no FROM"
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", bases[-1]), f"final base is {bases[-1]}"


# --- .env.example ----------------------------------------------------------------------------


def test_env_example_documents_every_operator_setting():
    documented = set(env_example_assignments())
    expected = {
        variable
        for variable, field in SETTING_VARIABLES.items()
        if field not in SETTINGS_NOT_FOR_OPERATORS
    }
    missing = sorted(expected - documented)
    assert not missing, f".env.example should document {missing} (a line each, with a comment)"


def test_env_example_values_are_valid_settings():
    values = {
        SETTING_VARIABLES[variable]: value
        for variable, value in env_example_assignments().items()
        if variable in SETTING_VARIABLES
    }
    Settings(_env_file=None, **values)


# --- the "replicas" profile: two API replicas behind nginx -----------------------------------

NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def test_replicas_profile_puts_nginx_in_front_of_two_api_replicas():
    replicas = [
        n
        for n, s in SERVICES.items()
        if energy_monitor_calls(command_argv(s.get("command") or [])) == [["energy-monitor", "api"]]
    ]
    assert sorted(replicas) == ["ingest", "ingest-2"]
    proxy = SERVICES["proxy"]
    assert proxy["profiles"] == ["replicas"] and SERVICES["ingest-2"]["profiles"] == ["replicas"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    conf = NGINX_CONF.read_text(encoding="utf-8")
    upstream = re.search(r"upstream energy_api \{(.*?)\}", conf, re.DOTALL)
    assert upstream is not None
    servers = re.findall(r"^\s*server (\S+?):(\d+)", upstream.group(1), re.MULTILINE)
    assert sorted(servers) == [(name, "8000") for name in replicas]
    for name in replicas:
        assert SERVICES[name]["environment"]["ENERGY_API_PORT"] == 8000
        assert set(dependency_conditions(proxy)) >= {name}


def test_replicas_believe_forwarded_addresses_from_the_proxy_alone():
    proxy_address = SERVICES["proxy"]["networks"]["edge"]["ipv4_address"]
    subnet = COMPOSE["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    for name in ("ingest", "ingest-2"):
        assert SERVICES[name]["environment"]["ENERGY_TRUSTED_PROXIES"] == proxy_address
        assert "edge" in SERVICES[name]["networks"]
    conf = NGINX_CONF.read_text(encoding="utf-8")
    # nginx is the edge: it replaces the header instead of appending to what the client sent.
    assert re.search(r"proxy_set_header X-Forwarded-For \$remote_addr;", conf)
    assert "$proxy_add_x_forwarded_for" not in conf
    # A POST that reached a replica is never sent to the other one as well.
    assert re.search(r"proxy_next_upstream error timeout;", conf)


@pytest.mark.parametrize("name", ["ingest", "ingest-2", "app"])
def test_the_processes_the_public_reaches_connect_as_the_role_row_level_security_holds(name):
    url = SERVICES[name]["environment"]["ENERGY_DATABASE_URL"]
    assert url.startswith("postgresql://energy_app:"), f"service {name!r} connects with {url}"


def test_the_migrate_step_creates_the_application_role_before_anything_connects_as_it():
    calls = energy_monitor_calls(command_argv(SERVICES["migrate"]["command"]))
    assert [call[:3] for call in calls][:2] == [
        ["energy-monitor", "db", "upgrade"],
        ["energy-monitor", "db", "grant-app-role"],
    ]
    grant = calls[1]
    assert grant[3] == "energy_app"
    variable = grant[grant.index("--password-env") + 1]
    assert variable in SERVICES["migrate"]["environment"]
