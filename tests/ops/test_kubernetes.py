"""deploy/kubernetes/ checked offline: every manifest validates (strictly, unknown fields refused)
against the Kubernetes API schemas that kubernetes-validate carries, and its paths, ports,
commands, timings and settings are the service's own; the migration wait its pods run before
starting really waits for, then passes after, the migration Job's command on a real database."""

from __future__ import annotations

import os
import re
import runpy
import shlex
import signal
import subprocess
import time
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from dorami_api.config import Config
from dorami_api.realtime.server import PING_INTERVAL_SECONDS, PING_TIMEOUT_SECONDS
from tests.ops.test_deploy_files import assert_runnable, dockerfile_instructions, procfile
from tests.support import services
from tests.support.server import ROOT, VENV_BIN

MANIFESTS = ROOT / "deploy/kubernetes"
# The oldest Kubernetes still commonly run and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
# Settings of .env.example that only docker-compose.yml reads (its bundled database, Grafana).
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}
# Names of settings that must never sit in a ConfigMap (URLs with credentials included).
SECRET_NAMES = re.compile(r"SECRET|TOKEN|PASSWORD|ENCRYPTION_KEYS?$|^DATABASE_URL$|^REDIS_URL$")
WAIT_LINE = "waiting for the dorami-migrate job"


def manifest_files() -> list[Path]:
    return sorted(path for path in MANIFESTS.glob("*.yaml") if path.name != "kustomization.yaml")


def resources() -> dict[tuple[str, str], dict]:
    found = {}
    for path in manifest_files():
        for document in yaml.safe_load_all(path.read_text()):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


def pod_spec(resource: dict) -> dict:
    return resource["spec"]["template"]["spec"]


def containers(resource: dict) -> list[dict]:
    return pod_spec(resource)["containers"] + pod_spec(resource).get("initContainers", [])


def container(resource: dict, name: str) -> dict:
    return next(each for each in containers(resource) if each["name"] == name)


def env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_kubernetes(version):
    assert manifest_files()
    for path in manifest_files():
        for document in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(document, version, strict=True)


def test_the_validation_refuses_an_unknown_field():
    deployment = resources()[("Deployment", "dorami-web")]
    container(deployment, "web")["livenesProbe"] = container(deployment, "web")["livenessProbe"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_kustomization_applies_every_manifest_once():
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in manifest_files()]
    images = {image["name"] for image in kustomization["images"]}
    for resource in resources().values():
        if "template" in resource.get("spec", {}):
            for each in containers(resource):
                assert each["image"] in images, each["name"]


def test_the_web_deployment_matches_the_service(app):
    web = resources()[("Deployment", "dorami-web")]
    server = container(web, "web")
    assert server["command"] == shlex.split(procfile()["web"])
    assert_runnable(server["command"])

    (port,) = server["ports"]
    assert port["containerPort"] == Config.from_env({}).port == 3001
    assert str(port["containerPort"]) in dict(dockerfile_instructions())["EXPOSE"].split()

    probes = {"liveness": server["livenessProbe"], "readiness": server["readinessProbe"]}
    assert probes["liveness"]["httpGet"]["path"] == "/api/v1/health/live"
    assert probes["readiness"]["httpGet"]["path"] == "/api/v1/health/ready"
    assert (probes["liveness"]["initialDelaySeconds"], probes["liveness"]["periodSeconds"]) == (30, 10)
    assert (probes["readiness"]["initialDelaySeconds"], probes["readiness"]["periodSeconds"]) == (10, 5)
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    client = app.test_client()
    for probe in probes.values():
        assert probe["httpGet"]["port"] == port["name"]
        assert probe["httpGet"]["path"] in routes
        # ready answers within 2 s even when a dependency hangs: the probe waits longer than that.
        assert probe["timeoutSeconds"] > 2
        assert client.get(probe["httpGet"]["path"]).status_code == 200

    # The pod is given the preStop pause plus gunicorn's whole graceful shutdown.
    graceful = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]
    pause = server["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    assert pod_spec(web)["terminationGracePeriodSeconds"] > graceful + int(pause[1])

    # The memory guard replaces a worker before the kernel's limit kills the pod.
    guard_mb = int(resources()[("ConfigMap", "dorami-config")]["data"]["MAX_WORKER_MEMORY_MB"])
    limit = server["resources"]["limits"]["memory"]
    assert limit.endswith("Mi") and int(limit[:-2]) > guard_mb

    # The image's non-root user.
    runs = " ".join(instruction for kind, instruction in dockerfile_instructions() if kind == "RUN")
    assert pod_spec(web)["securityContext"]["runAsUser"] == int(re.search(r"--uid (\d+)", runs).group(1))


def test_jobs_and_migration_run_the_procfile_commands():
    found = resources()
    jobs = container(found[("Deployment", "dorami-jobs")], "jobs")
    assert jobs["command"] == shlex.split(procfile()["worker"])
    assert_runnable(jobs["command"])
    assert found[("Deployment", "dorami-jobs")]["spec"]["replicas"] == 1
    migrate = container(found[("Job", "dorami-migrate")], "migrate")
    assert migrate["command"] == shlex.split(procfile()["release"])
    assert_runnable(migrate["command"])
    assert pod_spec(found[("Job", "dorami-migrate")])["restartPolicy"] == "Never"
    for name in ("dorami-web", "dorami-jobs"):
        wait = container(found[("Deployment", name)], "wait-for-migrations")
        assert wait["command"] == container(found[("Deployment", "dorami-web")], "wait-for-migrations")["command"]


def test_service_ingress_autoscaler_and_budget_reach_the_web_pods_only():
    found = resources()
    web, jobs = found[("Deployment", "dorami-web")], found[("Deployment", "dorami-jobs")]

    def selects(selector: dict, deployment: dict) -> bool:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        return all(labels.get(key) == value for key, value in selector.items())

    service = found[("Service", "dorami-web")]
    assert selects(service["spec"]["selector"], web) and not selects(service["spec"]["selector"], jobs)
    assert selects(web["spec"]["selector"]["matchLabels"], web)
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] == container(web, "web")["ports"][0]["name"]

    ingress = found[("Ingress", "dorami-api")]
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")  # /socket.io/ and /api/v1 alike
    backend = path["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] == service_port["name"]
    annotations = ingress["metadata"]["annotations"]
    # Long-polling Socket.IO sessions stay on one pod.
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/session-cookie-name"]
    # No idle socket is cut by the proxy between two pings.
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) > PING_INTERVAL_SECONDS + PING_TIMEOUT_SECONDS

    autoscaler = found[("HorizontalPodAutoscaler", "dorami-web")]
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", web["metadata"]["name"])
    assert 2 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]
    (metric,) = autoscaler["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert container(web, "web")["resources"]["requests"]["cpu"]  # utilisation needs a request

    budget = found[("PodDisruptionBudget", "dorami-web")]
    assert selects(budget["spec"]["selector"]["matchLabels"], web)
    assert not selects(budget["spec"]["selector"]["matchLabels"], jobs)


def test_config_map_and_secret_hold_every_setting_and_make_a_valid_production_config():
    found = resources()
    settings = found[("ConfigMap", "dorami-config")]["data"]
    secrets = found[("Secret", "dorami-secrets")]["stringData"]
    assert not set(settings) & set(secrets)
    assert set(settings) | set(secrets) == env_example() - COMPOSE_ONLY
    assert not [name for name in settings if SECRET_NAMES.search(name)]
    assert {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "PROFILE_ENCRYPTION_KEY", "METRICS_TOKEN"} <= set(secrets)
    source = "\n".join(p.read_text() for p in [*(ROOT / "dorami_api").rglob("*.py"), ROOT / "gunicorn.conf.py"])
    for name in {*settings, *secrets}:
        assert f'"{name}"' in source, f"{name} is set by the manifests but read by nothing"
    for resource in found.values():
        if "template" in resource.get("spec", {}):
            for each in containers(resource):
                sources = {next(iter(ref.values()))["name"] for ref in each["envFrom"]}
                assert sources == {"dorami-config", "dorami-secrets"}, each["name"]

    # The settings as given, with the placeholders filled in, start production.
    filled = {**secrets, "JWT_SECRET": "k" * 48, "PROFILE_ENCRYPTION_KEY": "00" * 32}
    config = Config.from_env({**settings, **filled})
    assert config.is_production and config.port == 3001


@pytest.fixture
def empty_database():
    url = services.create_database()
    yield url
    services.drop_database(url)


def test_pods_wait_for_the_migration_job_then_start(empty_database, tmp_path):
    found = resources()
    wait = container(found[("Deployment", "dorami-web")], "wait-for-migrations")["command"]
    migrate = container(found[("Job", "dorami-migrate")], "migrate")["command"]
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "APP_ENV": "test",
        "DATABASE_URL": empty_database,
        "LOG_LEVEL": "WARNING",
    }
    log_path = tmp_path / "wait.log"
    with open(log_path, "wb") as log:
        waiting = subprocess.Popen(
            wait, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while WAIT_LINE not in log_path.read_text() and time.monotonic() < deadline:
            assert waiting.poll() is None, f"the wait ended on an empty database:\n{log_path.read_text()}"
            time.sleep(0.2)
        assert WAIT_LINE in log_path.read_text()
        assert waiting.poll() is None

        result = subprocess.run(migrate, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        assert waiting.wait(timeout=60) == 0
    finally:
        if waiting.poll() is None:
            os.killpg(waiting.pid, signal.SIGKILL)
            waiting.wait(timeout=10)
