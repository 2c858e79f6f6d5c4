"""docker-compose.yml and the Dockerfile agree with the configs they mount:
every host path exists, every host:port a config names is a service listening
there, and the image exposes and health-checks the port longrun listens on.
Static checks: no container is started."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import pytest

from . import artefacts as a

COMPOSE = a.compose()
SERVICES = COMPOSE["services"]
PROMETHEUS = a.load_yaml(a.PROMETHEUS_CONFIG)
ALERTMANAGER = a.load_yaml(a.ALERTMANAGER_CONFIG)


def env(service: str) -> dict[str, str]:
    value = SERVICES[service].get("environment", {})
    if isinstance(value, list):
        value = dict(item.split("=", 1) for item in value)
    return {k: str(v) for k, v in value.items()}


def bind_mounts(service: str) -> list[tuple[str, str]]:
    """(host path, container path) of every ./relative bind mount."""
    mounts = []
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2] if isinstance(volume, str) else (volume["source"], volume["target"])
        if source.startswith("."):
            mounts.append((source, target))
    return mounts


def container_path_to_host(service: str, path: str) -> str | None:
    """The repository file a container path is, through the service's bind mounts."""
    for source, target in bind_mounts(service):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return str(PurePosixPath(source) / PurePosixPath(path).relative_to(target))
    return None


def command_flag(service: str, flag: str) -> str:
    for arg in SERVICES[service]["command"]:
        if arg.startswith(f"--{flag}="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{service} has no --{flag}")


def listen_port(service: str) -> int:
    """The port a service listens on inside the network."""
    if service == "longrun":
        return int(env("longrun")["LONGRUN_LISTEN"].rpartition(":")[2])
    if service == "firestore":
        return int(re.search(r"--host-port=[^:]*:(\d+)", " ".join(SERVICES[service]["command"]))[1])
    ports = {int(str(p).rsplit(":", 1)[1]) for p in SERVICES[service].get("ports", [])}
    assert len(ports) == 1, f"{service}: cannot tell its port from {SERVICES[service].get('ports')}"
    return ports.pop()


def assert_reaches(address: str, service: str):
    host, _, port = address.partition(":")
    assert host == service, f"{address} is not service {service}"
    assert int(port) == listen_port(service), f"{address}: {service} listens on {listen_port(service)}"


# ------------------------------------------------------------------ compose itself


def test_compose_has_the_stack():
    assert set(SERVICES) == {"longrun", "firestore", "prometheus", "alertmanager", "grafana"}
    assert SERVICES["prometheus"]["image"] == "prom/prometheus:v2.42.0"
    assert SERVICES["alertmanager"]["image"] == "prom/alertmanager:v0.25.0"
    assert SERVICES["longrun"]["build"] == "."


@pytest.mark.parametrize("service", sorted(s for s in SERVICES if "image" in SERVICES[s] and "build" not in SERVICES[s]))
def test_every_pulled_image_has_a_pinned_version_tag(service: str):
    """A moving tag (latest, emulators, none) changes the stack under a months-long run on the next pull."""
    image = SERVICES[service]["image"]
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    assert tag and re.search(r"\d+\.\d+", tag) and tag != "latest", f"{service}: {image} is not pinned to a version"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_mounted_host_path_exists(service: str):
    for source, _ in bind_mounts(service):
        assert (a.REPO / source).exists(), f"{service} mounts {source}, which does not exist"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_has_a_healthcheck(service: str):
    if "healthcheck" in SERVICES[service]:
        assert SERVICES[service]["healthcheck"]["test"]
    else:
        assert SERVICES[service].get("build") == ".", f"{service} has no healthcheck"
        assert any(i == "HEALTHCHECK" for i, _ in a.dockerfile_instructions())


def test_depends_on_waits_for_health_of_services_that_have_it():
    for name, service in SERVICES.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            assert spec["condition"] in ("service_healthy", "service_started"), (name, dependency)
    assert SERVICES["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    # the emulator is optional: nothing that starts by default may wait for it
    for name, service in SERVICES.items():
        assert "firestore" not in service.get("depends_on", {}), f"{name} depends on the optional emulator"


def test_named_volumes_are_declared():
    declared = set(COMPOSE.get("volumes", {}))
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses undeclared volume {source}"


def default(value: str) -> str:
    """What compose makes of ``${VAR:-default}`` when VAR is unset."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match[1] if match else value


def test_longrun_keeps_its_data_in_sqlite_on_a_named_volume_by_default():
    from exporter.settings import load_settings

    environment = env("longrun")
    store = default(environment["LONGRUN_STORE"])
    assert load_settings({"LONGRUN_STORE": store}).store_url == store
    assert store.startswith("sqlite:////"), f"{store}: not an absolute SQLite path"
    directory = str(PurePosixPath(store.removeprefix("sqlite:///")).parent)
    volumes = {target: source for source, target, *_ in (v.split(":") for v in SERVICES["longrun"]["volumes"])}
    assert directory in volumes, f"{directory} is not a mounted volume"
    assert volumes[directory] in COMPOSE["volumes"], f"{volumes[directory]} is not a named volume"
    assert default(environment["FIRESTORE_EMULATOR_HOST"]) == ""
    assert environment["LONGRUN_LISTEN"] == "0.0.0.0:9469"


def test_the_emulator_is_an_optional_profile_the_header_explains():
    assert SERVICES["firestore"]["profiles"] == ["emulator"]
    assert all("profiles" not in s for n, s in SERVICES.items() if n != "firestore")
    header = a.COMPOSE_FILE.read_text(encoding="utf-8").split("\nname:")[0]
    assert "--profile emulator" in header
    address = re.search(r"FIRESTORE_EMULATOR_HOST=(\S+)", header)[1]
    assert_reaches(address, "firestore")
    assert re.search(r"LONGRUN_STORE=firestore://[\w-]+", header)


def test_prometheus_knows_its_external_url_so_source_links_open():
    url = default(command_flag("prometheus", "web.external-url"))
    published = {str(p).rsplit(":", 1)[-1] for p in SERVICES["prometheus"]["ports"]}
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and str(parts.port) in published, url


def test_docker_compose_config_accepts_it(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed: only the static checks ran")
    result = subprocess.run([docker, "compose", "-f", str(a.COMPOSE_FILE), "config", "--quiet"], capture_output=True,
                            text=True, cwd=a.REPO, env={**os.environ, "LONGRUN_WEBHOOK_TOKEN": "test"})
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ configs agree with compose


def test_prometheus_loads_its_config_and_rules_from_the_mount():
    config = container_path_to_host("prometheus", command_flag("prometheus", "config.file"))
    assert config == "prometheus/prometheus.yml"
    assert "--storage.tsdb.path=/prometheus" in SERVICES["prometheus"]["command"]


def test_prometheus_scrapes_services_where_they_listen():
    targets = {job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
               for job in PROMETHEUS["scrape_configs"]}
    assert targets["longrun"] == ["longrun:9469"]
    assert_reaches(targets["longrun"][0], "longrun")
    assert_reaches(targets["alertmanager"][0], "alertmanager")
    assert targets["prometheus"] == [f"localhost:{listen_port('prometheus')}"]
    assert PROMETHEUS["global"]["scrape_interval"] == "15s"


def test_prometheus_sends_alerts_to_the_alertmanager_service():
    (target,) = [t for am in PROMETHEUS["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert_reaches(target, "alertmanager")


def test_alertmanager_webhook_reaches_longrun():
    for receiver in ALERTMANAGER["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            url = urlsplit(hook["url"])
            assert_reaches(url.netloc, "longrun")
            assert url.path == a.WEBHOOK_PATH


def test_alertmanager_runs_on_the_shipped_config_rendered_with_the_telegram_settings():
    """render-config.sh copies the shipped file, with the bot token and chat, to the file Alertmanager reads."""
    script, template, rendered, separator, binary = SERVICES["alertmanager"]["entrypoint"][1:]
    assert container_path_to_host("alertmanager", script) == "alertmanager/render-config.sh"
    assert container_path_to_host("alertmanager", template) == "alertmanager/alertmanager.yml"
    assert rendered == command_flag("alertmanager", "config.file") and separator == "--"
    assert binary == "/bin/alertmanager"  # the prom/alertmanager image's
    assert rendered.startswith(command_flag("alertmanager", "storage.path") + "/")  # writable, not the :ro mount
    assert env("alertmanager")["TELEGRAM_BOT_TOKEN"] == env("longrun")["TELEGRAM_BOT_TOKEN"]
    assert env("alertmanager")["TELEGRAM_CHAT_ID"] == env("longrun")["TELEGRAM_CHAT_ID"]


def test_alertmanager_reads_the_token_compose_provides():
    token_files = {hook["http_config"]["authorization"]["credentials_file"]
                   for receiver in ALERTMANAGER["receivers"] for hook in receiver.get("webhook_configs", [])}
    secrets = {s["target"]: s["source"] for s in SERVICES["alertmanager"]["secrets"]}
    for path in token_files:
        assert path in secrets, f"nothing mounts {path} into alertmanager"
        # the same variable longrun checks incoming webhooks against
        assert COMPOSE["secrets"][secrets[path]] == {"environment": "LONGRUN_WEBHOOK_TOKEN"}
    assert env("longrun")["LONGRUN_WEBHOOK_TOKEN"].startswith("${LONGRUN_WEBHOOK_TOKEN")


def test_grafana_datasources_reach_their_services():
    for source in a.load_yaml(a.DATASOURCES_FILE)["datasources"]:
        url = urlsplit(source["url"])
        assert_reaches(url.netloc, {"prometheus": "prometheus", "alertmanager": "alertmanager"}[source["type"]])


def test_grafana_mounts_provisioning_and_the_dashboards_the_provider_reads():
    mounts = dict(bind_mounts("grafana"))
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    provider_path = a.load_yaml(a.DASHBOARD_PROVIDER_FILE)["providers"][0]["options"]["path"]
    assert container_path_to_host("grafana", provider_path) == "grafana/dashboards"
    home = env("grafana").get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert (a.REPO / container_path_to_host("grafana", home)).is_file()


# ------------------------------------------------------------------ Dockerfile


def test_dockerfile_builds_a_non_root_longrun_image():
    instructions = a.dockerfile_instructions()
    stages = [args for i, args in instructions if i == "FROM"]
    assert all(stage.startswith("python:3.11-slim") for stage in stages)
    users = [args for i, args in instructions if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(i == "RUN" and "pip install" in args for i, args in instructions)
    entry = " ".join(args for i, args in instructions if i in ("ENTRYPOINT", "CMD"))
    assert re.sub(r'[\[\]",]', " ", entry).split() == ["longrun", "run"]


def test_dockerfile_exposes_and_checks_the_port_longrun_listens_on():
    instructions = a.dockerfile_instructions()
    (exposed,) = [args for i, args in instructions if i == "EXPOSE"]
    assert int(exposed) == listen_port("longrun")
    image_env = " ".join(args for i, args in instructions if i == "ENV")
    assert f"LONGRUN_LISTEN=0.0.0.0:{exposed}" in image_env
    (health,) = [args for i, args in instructions if i == "HEALTHCHECK"]
    assert "/health" in health and "LONGRUN_LISTEN" in health and exposed in health


def test_compose_publishes_longrun_on_its_port():
    published = [str(p) for p in SERVICES["longrun"]["ports"]]
    assert published == [f"127.0.0.1:{listen_port('longrun')}:{listen_port('longrun')}"]


def _dockerignored(path: str) -> bool:
    """.dockerignore semantics for our whitelist: the last matching pattern wins, ! re-includes."""
    ignored = False
    for line in a.DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate, pattern = line.startswith("!"), line.lstrip("!").rstrip("/")
        pattern = pattern.removeprefix("**/")
        parts = path.split("/")
        if any(fnmatch.fnmatch("/".join(parts[:n]), pattern) or fnmatch.fnmatch(parts[n - 1], pattern)
               for n in range(1, len(parts) + 1)):
            ignored = not negate
    return ignored


def test_dockerignore_sends_only_the_package_sources():
    for needed in ("pyproject.toml", "README.md", "exporter/__init__.py", "alerting/webhook.py"):
        assert not _dockerignored(needed), needed
    for unwanted in (".venv/bin/python", ".git/HEAD", "var/longrun.db", "tests/test_settings.py",
                     "exporter/__pycache__/x.pyc", "grafana/dashboards/longrun-overview.json"):
        assert _dockerignored(unwanted), unwanted


def test_every_dollar_in_compose_is_a_variable_or_escaped():
    """Compose interpolates $ everywhere: a stray one is a parse error or a silently empty string."""
    def strings(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from strings(key)
                yield from strings(value)
        elif isinstance(node, list):
            for item in node:
                yield from strings(item)
        elif isinstance(node, str):
            yield node

    for text in strings(COMPOSE):
        stripped = re.sub(r"\$\$|\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?+])[^${}]*)?\}", "", text)
        assert "$" not in stripped, text
