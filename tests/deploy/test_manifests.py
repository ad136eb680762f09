"""deploy/: what the Dockerfile, compose.yaml and the Kubernetes manifests run, against the code.

Schemas and lint are `make deploy-check`'s (deploy/check.py); here every manifest is read and
its probes are checked against the app's URL map, its ports against `baoxiu serve` and the
Service, its commands against server/cli.py, and its environment names against
deploy/env.example and server/config.py (every required one provided, and the settings a
container would get parse).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound

from server.cli import DEFAULT_PORT, main
from server.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
HEALTHZ = "/api/v1/healthz"
READYZ = "/api/v1/readyz"
# The uid the image runs as (deploy/Dockerfile's USER) and the pods' runAsUser.
IMAGE_UID = 10001


def _load_check() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_check", DEPLOY / "check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_check()
ENV_EXAMPLE: dict[str, str] = check.env_example()
# Without these a production process refuses to start (server/config.py).
REQUIRED = ("BAOXIU_ENV", "SECRET_KEY", "PAYMENT_SECRETS_KEY", "DATABASE_URL", "REDIS_URL")
# What an operator puts in the Secret, standing in for the real values.
SECRET_VALUES = {
    "SECRET_KEY": "s" * 48,
    "PAYMENT_SECRETS_KEY": "p" * 48,
    "DATABASE_URL": "postgresql://baoxiu:pw@db:5432/baoxiu",
    "DATABASE_REPLICA_URLS": "",
    "REDIS_URL": "redis://cache:6379/0",
    "WECHAT_SECRET": "",
    "WECHATPAY_APIV3_KEY": "",
}


def _documents() -> list[dict[str, Any]]:
    found = []
    for path in check.manifests():
        found += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return found


DOCUMENTS = _documents()
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
DOCKERFILE = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def _kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in DOCUMENTS if d["kind"] == kind}


def _workloads() -> list[dict[str, Any]]:
    return [d for d in DOCUMENTS if d["kind"] in ("Deployment", "Job")]


def _containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload name, pod spec, container) for every container of every workload."""
    return [
        (w["metadata"]["name"], w["spec"]["template"]["spec"], c)
        for w in _workloads()
        for c in w["spec"]["template"]["spec"]["containers"]
    ]


def _compose_baoxiu() -> dict[str, dict[str, Any]]:
    """The compose services that run the Baoxiu image."""
    return {
        name: service
        for name, service in COMPOSE["services"].items()
        if service.get("image") == "baoxiu:local"
    }


def _interpolate(value: str) -> str:
    """Compose's ${NAME:-default} / ${NAME:?message}: the default, or a stand-in value."""

    def one(match: re.Match[str]) -> str:
        name, how, rest = match.group(1), match.group(2), match.group(3)
        if how == ":-":
            return rest
        return SECRET_VALUES.get(name) or "set-by-operator"

    return re.sub(r"\$\{(\w+)(:[-?])?([^}]*)\}", one, value)


def _dockerfile_final_stage() -> str:
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def _dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.M)
    assert match, "deploy/Dockerfile has no exec-form CMD"
    return list(json.loads(match.group(1)))


def _port_option(command: list[str]) -> int:
    return int(command[command.index("--port") + 1]) if "--port" in command else DEFAULT_PORT


# --- commands -------------------------------------------------------------------------------


def _all_commands() -> list[tuple[str, list[str]]]:
    found = [(f"k8s {name}/{c['name']}", c["command"]) for name, _, c in _containers()]
    found += [(f"compose {n}", s.get("command")) for n, s in COMPOSE["services"].items()]
    found = [(where, cmd) for where, cmd in found if cmd and cmd[0] == "baoxiu"]
    found.append(("Dockerfile CMD", _dockerfile_cmd()))
    return found


@pytest.mark.parametrize(
    ("where", "command"), [pytest.param(w, c, id=w) for w, c in _all_commands()]
)
def test_commands_are_baoxiu_subcommands_with_valid_options(where, command):
    assert command[0] == "baoxiu", where
    sub, *args = command[1:]
    assert sub in main.commands, f"{where}: `baoxiu {sub}` is not in server/cli.py"
    try:
        main.commands[sub].make_context(sub, list(args))
    except click.UsageError as exc:
        pytest.fail(f"{where}: {' '.join(command)}: {exc}")


def test_every_process_kind_runs_somewhere():
    k8s = {c["command"][1] for _, _, c in _containers()}
    compose = {s["command"][1] for s in _compose_baoxiu().values()}
    assert {"serve", "worker", "cron", "migrate"} <= k8s
    assert {"serve", "worker", "cron", "migrate"} <= compose
    assert _dockerfile_cmd()[:2] == ["baoxiu", "serve"]


def test_cron_runs_once_and_migrations_run_to_completion():
    cron = _kind("Deployment")["baoxiu-cron"]
    assert cron["spec"]["replicas"] == 1
    assert cron["spec"]["strategy"]["type"] == "Recreate"
    assert "leader lock" in (K8S / "cron.yaml").read_text(encoding="utf-8")
    scaled = {
        h["spec"]["scaleTargetRef"]["name"] for h in _kind("HorizontalPodAutoscaler").values()
    }
    assert scaled == {"baoxiu-api", "baoxiu-worker"}
    job = _kind("Job")["baoxiu-migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["baoxiu", "migrate"]
    for name in ("api", "worker", "cron"):
        condition = COMPOSE["services"][name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    assert "replicas" not in COMPOSE["services"]["cron"].get("deploy", {})


# --- probes ---------------------------------------------------------------------------------


def _probe_paths() -> list[tuple[str, str]]:
    found = []
    for name, _, container in _containers():
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                found.append((f"{name} {probe}", container[probe]["httpGet"]["path"]))
    for name, service in COMPOSE["services"].items():
        test = " ".join((service.get("healthcheck") or {}).get("test") or [])
        found += [(f"compose {name}", path) for path in re.findall(r"/api/v1/\w+", test)]
    found += [("Dockerfile", path) for path in re.findall(r"/api/v1/\w+", DOCKERFILE)]
    return found


def test_probes_are_healthz_for_liveness_and_readyz_for_readiness():
    api = _kind("Deployment")["baoxiu-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == HEALTHZ
    assert api["readinessProbe"]["httpGet"]["path"] == READYZ
    assert api["startupProbe"]["httpGet"]["path"] == HEALTHZ
    assert re.search(r"^HEALTHCHECK .*\n?.*" + re.escape(HEALTHZ), DOCKERFILE, re.M)
    # Only the API listens: the others have no probes (and compose turns the image's off).
    for name, _, container in _containers():
        if name != "baoxiu-api":
            assert not {"livenessProbe", "readinessProbe"} & set(container), name
    for name in ("migrate", "worker", "cron"):
        assert COMPOSE["services"][name]["healthcheck"] == {"disable": True}


def test_probe_paths_are_get_routes_that_answer(app: Flask):
    adapter = app.url_map.bind("localhost")
    paths = _probe_paths()
    assert {path for _, path in paths} == {HEALTHZ, READYZ}
    for where, path in paths:
        try:
            adapter.match(path, method="GET")
        except (NotFound, MethodNotAllowed):
            pytest.fail(f"{where}: GET {path} is not a route of the app")
    client = app.test_client()
    for path in (HEALTHZ, READYZ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_json())
        assert response.get_json()["status"] == "ok"


# --- ports ----------------------------------------------------------------------------------


def test_api_ports_match_serve_and_the_service():
    api = _kind("Deployment")["baoxiu-api"]["spec"]["template"]["spec"]["containers"][0]
    (port,) = api["ports"]
    assert port["containerPort"] == _port_option(api["command"]) == DEFAULT_PORT
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert api[probe]["httpGet"]["port"] in (port["name"], port["containerPort"])
    service = _kind("Service")["baoxiu-api"]
    api_labels = _kind("Deployment")["baoxiu-api"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in (port["name"], port["containerPort"])
    backend = _kind("Ingress")["baoxiu"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "baoxiu-api"
    assert backend["service"]["port"] in ({"name": service_port["name"]}, {"number": 80})

    assert re.search(rf"^EXPOSE {DEFAULT_PORT}$", DOCKERFILE, re.M)
    assert _port_option(_dockerfile_cmd()) == DEFAULT_PORT
    compose_api = COMPOSE["services"]["api"]
    assert _port_option(compose_api["command"]) == DEFAULT_PORT
    (published,) = compose_api["ports"]
    assert _interpolate(published).rsplit(":", 1)[1] == str(DEFAULT_PORT)
    for where, path in _probe_paths():
        if where.startswith("compose"):
            assert f"127.0.0.1:{DEFAULT_PORT}{path}" in str(compose_api["healthcheck"]["test"])


def test_gunicorn_config_leaves_the_bind_to_serve():
    """`baoxiu serve --host/--port` sets the bind; the config file must not fight it."""
    text = (DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8")
    assert not re.search(r"^bind\s*=", text, re.M)


def test_selectors_match_their_pods():
    for kind in ("Deployment", "PodDisruptionBudget"):
        for name, document in _kind(kind).items():
            selector = document["spec"]["selector"]["matchLabels"]
            target = _kind("Deployment")[name] if kind != "Deployment" else document
            labels = target["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), f"{kind}/{name}"


# --- security and resources -----------------------------------------------------------------


def test_containers_are_non_root_read_only_and_sized():
    final = _dockerfile_final_stage()
    assert re.search(rf"^USER {IMAGE_UID}:{IMAGE_UID}$", final, re.M)
    assert not re.search(r"apt-get|gcc|build-essential|npm", final), "build tools in the image"
    for name, pod, container in _containers():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == IMAGE_UID, name
        assert pod["automountServiceAccountToken"] is False, name
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"]["drop"] == ["ALL"], name
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: /tmp must be an emptyDir"
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][part]), name
    for name, service in _compose_baoxiu().items():
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name


def test_uploads_are_shared_where_they_are_written():
    upload_dir = ENV_EXAMPLE["UPLOAD_DIR"]
    for name in ("baoxiu-api", "baoxiu-worker"):
        pod = _kind("Deployment")[name]["spec"]["template"]["spec"]
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == upload_dir]
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        claim = _kind("PersistentVolumeClaim")[volume["persistentVolumeClaim"]["claimName"]]
        assert "ReadWriteMany" in claim["spec"]["accessModes"]
    for name in ("api", "worker"):
        assert f"uploads:{upload_dir}" in COMPOSE["services"][name]["volumes"]
    assert f"UPLOAD_DIR={upload_dir}" in DOCKERFILE


# --- environment ----------------------------------------------------------------------------


def _known_to_the_code() -> set[str]:
    """Environment names the code reads: server/config.py, server/cli.py, gunicorn.conf.py."""
    sources = [ROOT / "server/config.py", ROOT / "server/cli.py", DEPLOY / "gunicorn.conf.py"]
    names: set[str] = set()
    for path in sources:
        names |= set(re.findall(r"\"([A-Z][A-Z0-9_]{2,})\"", path.read_text(encoding="utf-8")))
    return names


def test_env_example_names_are_read_by_the_code():
    assert set(ENV_EXAMPLE) - _known_to_the_code() == set()
    assert set(REQUIRED) <= set(ENV_EXAMPLE)


def _k8s_environment(container: dict[str, Any]) -> dict[str, str]:
    """What a container gets: its ConfigMaps, its Secrets (stand-in values), its env."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= _kind("ConfigMap")[source["configMapRef"]["name"]]["data"]
        if "secretRef" in source:
            secret = _kind("Secret")[source["secretRef"]["name"]]
            env |= {name: SECRET_VALUES[name] for name in secret["stringData"]}
    env |= {item["name"]: item.get("value", "") for item in container.get("env", [])}
    return env


def _image_environment() -> dict[str, str]:
    match = re.search(r"^ENV ((?:.*\\\n)*.*)$", _dockerfile_final_stage(), re.M)
    assert match
    return dict(re.findall(r"(\w+)=(\S+)", match.group(1).replace("\\\n", " ")))


def test_config_map_and_secret_split_env_example():
    config = _kind("ConfigMap")["baoxiu-config"]["data"]
    secret = _kind("Secret")["baoxiu-secrets"]["stringData"]
    assert set(config) | set(secret) == set(ENV_EXAMPLE)
    assert not set(config) & set(secret)
    assert set(secret) == check.SECRET_NAMES
    assert all(value == "" for value in secret.values()), "no secret value in the repository"
    assert config["BAOXIU_GUNICORN_CONF"] == _image_environment()["BAOXIU_GUNICORN_CONF"]


def _environments() -> list[tuple[str, dict[str, str]]]:
    found = [(f"k8s {name}", _k8s_environment(c)) for name, _, c in _containers()]
    for name, service in _compose_baoxiu().items():
        env = {k: _interpolate(str(v)) for k, v in service["environment"].items()}
        found.append((f"compose {name}", env))
    return found


@pytest.mark.parametrize(
    ("where", "environment"), [pytest.param(w, e, id=w) for w, e in _environments()]
)
def test_every_name_is_known_and_every_required_one_provided(where, environment):
    unknown = set(environment) - set(ENV_EXAMPLE)
    assert not unknown, f"{where}: not in deploy/env.example: {sorted(unknown)}"
    missing = [name for name in REQUIRED if name not in environment]
    assert not missing, f"{where}: required names not provided: {missing}"
    # What the container would start with, on the image's defaults, parses as production.
    try:
        settings = Settings.from_env(_image_environment() | environment)
    except ConfigError as exc:
        pytest.fail(f"{where}: {exc}")
    assert settings.env == "production"


def test_the_required_names_are_really_required():
    full = _image_environment() | _k8s_environment(
        _kind("Deployment")["baoxiu-api"]["spec"]["template"]["spec"]["containers"][0]
    )
    for name in REQUIRED[1:]:
        with pytest.raises(ConfigError):
            Settings.from_env({k: v for k, v in full.items() if k != name})


def test_config_yaml_is_generated_from_env_example():
    assert (K8S / "config.yaml").read_text(encoding="utf-8") == check.config_yaml()


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([kmg]?)", text.lower())
    assert match, text
    return int(match.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2)]


def test_timeouts_and_limits_line_up_with_gunicorn_and_the_app():
    gunicorn = (DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8")
    graceful = re.search(r"^graceful_timeout = (\d+)", gunicorn, re.M)
    assert graceful
    config = _kind("ConfigMap")["baoxiu-config"]["data"]
    pod = _kind("Deployment")["baoxiu-api"]["spec"]["template"]["spec"]
    pause = int(pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][1])
    # The pod is killed only after the pause and gunicorn's graceful stop.
    assert pod["terminationGracePeriodSeconds"] >= pause + int(graceful.group(1))
    annotations = _kind("Ingress")["baoxiu"]["metadata"]["annotations"]
    # The ingress waits for a request as long as gunicorn lets it run, and lets the largest
    # upload in.
    read_timeout = int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"])
    assert read_timeout > int(config["GUNICORN_TIMEOUT"])
    body = _size(annotations["nginx.ingress.kubernetes.io/proxy-body-size"])
    upload = Settings.from_env({"UPLOAD_MAX_BYTES": config["UPLOAD_MAX_BYTES"]}).upload_max_bytes
    assert body >= upload
