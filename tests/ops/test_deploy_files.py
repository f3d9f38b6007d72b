"""The deployment files checked without a Docker engine: every command they run, file
they copy, port and health path exists in this project; the commands that can run here run."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def assert_runnable(argv: list[str]) -> None:
    """The program of a command the deployment runs exists in this project's environment."""
    program = argv[0]
    if program in ("gunicorn", "flask"):
        assert (VENV_BIN / program).exists()
    if program == "gunicorn":
        assert argv[argv.index("-c") + 1] == "gunicorn.conf.py"
        module, attribute = argv[-1].split(":")
        assert (ROOT / f"{module}.py").exists()
        assert f"\n{attribute} = " in (ROOT / f"{module}.py").read_text()
    elif program == "flask":
        assert argv[argv.index("--app") + 1] == "wsgi"
        assert argv[argv.index("--app") + 2 :][:2] == ["db", "upgrade"]
        if "--directory" in argv:
            assert (ROOT / argv[argv.index("--directory") + 1] / "env.py").exists()
    elif program == "python":
        assert argv[1] == "-m"
        assert importlib.util.find_spec(argv[2]) is not None, f"no module {argv[2]}"
    else:
        raise AssertionError(f"unexpected program {program!r}")


def test_procfile_runs_web_worker_and_release():
    entries = procfile()
    assert set(entries) == {"web", "worker", "release"}
    for command in entries.values():
        assert_runnable(shlex.split(command))
    assert shlex.split(entries["web"]) == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    assert shlex.split(entries["worker"]) == ["python", "-m", "dorami_api.jobs"]


def test_the_jobs_process_has_an_entry_point():
    assert_runnable(["python", "-m", "dorami_api.jobs"])


def test_dockerfile_slim_non_root_with_a_liveness_healthcheck():
    instructions = dockerfile_instructions()
    kinds = [kind for kind, _ in instructions]
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", dict(instructions)["FROM"])
    user = [args for kind, args in instructions if kind == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert kinds.index("USER") < kinds.index("CMD")
    for kind, args in instructions:
        if kind == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    healthcheck = dict(instructions)["HEALTHCHECK"]
    assert "/api/v1/health/live" in healthcheck
    assert "3001" in dict(instructions)["EXPOSE"]
    cmd = yaml.safe_load(dict(instructions)["CMD"])  # the JSON exec form
    assert_runnable(cmd)
    assert shlex.split(procfile()["web"]) == cmd


def test_the_dockerfile_healthcheck_command_passes_against_a_real_server(live_server):
    server = live_server(workers=1)
    command = dict(dockerfile_instructions())["HEALTHCHECK"].split(" CMD ", 1)[1]
    argv = shlex.split(command)
    assert argv[0] == "python"
    result = subprocess.run(
        [sys.executable, *argv[1:]], env={"PORT": str(server.port)}, capture_output=True, timeout=20
    )
    assert result.returncode == 0, result.stderr
    # The same command fails when nothing answers.
    failed = subprocess.run([sys.executable, *argv[1:]], env={"PORT": "1"}, capture_output=True, timeout=20)
    assert failed.returncode != 0


def test_the_release_command_migrates_the_database(app_env):
    argv = shlex.split(procfile()["release"])
    result = subprocess.run(
        [str(VENV_BIN / argv[0]), *argv[1:]], cwd=ROOT, env=app_env, capture_output=True, timeout=120, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_compose_two_backends_behind_nginx_and_one_worker(compose):
    services = compose["services"]
    backends = [name for name in services if name.startswith("api-")]
    assert len(backends) == 2
    for name in backends:
        service = services[name]
        assert service["build"] == "."
        assert service["environment"]["PORT"] == "3001"
        assert service["environment"]["APP_ENV"] == "production"
        # One worker per instance: polling sessions stay in one process behind sticky nginx.
        assert service["environment"]["WEB_CONCURRENCY"] == "1"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert "@db:5432/" in service["environment"]["DATABASE_URL"]
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:6379")
        assert "command" not in service  # the image's CMD: gunicorn
        assert int(service["stop_grace_period"].rstrip("s")) > 30
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert_runnable(services["worker"]["command"])
    assert_runnable(services["migrate"]["command"])
    assert services["migrate"]["command"] == shlex.split(procfile()["release"])
    nginx = services["nginx"]
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in nginx["volumes"]}
    assert (ROOT / mounted["/etc/nginx/nginx.conf"]).resolve() == ROOT / "deploy" / "nginx.conf"


def test_compose_postgres_15_and_redis_7_with_aof_and_volatile_lru(compose):
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "volatile-lru"
    named = set(compose["volumes"])
    assert {"postgres_data", "redis_data"} <= named
    assert "postgres_data:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "redis_data:/data" in services["redis"]["volumes"]


def test_nginx_is_sticky_for_socketio_and_knows_every_backend(compose):
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    upstreams = dict(re.findall(r"upstream (\w+) \{(.*?)\}", config, re.S))
    backends = {name for name in compose["services"] if name.startswith("api-")}
    for body in upstreams.values():
        assert set(re.findall(r"server ([\w-]+):3001", body)) == backends
    assert "ip_hash;" in upstreams["dorami_socketio"]
    socketio = re.search(r"location /socket.io/ \{(.*?)\}", config, re.S).group(1)
    assert "proxy_pass http://dorami_socketio;" in socketio
    assert "proxy_set_header Upgrade $http_upgrade;" in socketio
    assert "proxy_pass http://dorami_api;" in re.search(r"location / \{(.*?)\}", config, re.S).group(1)


def test_nginx_accepts_the_configuration(tmp_path):
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    assert nginx is not None, "nginx is not installed (apt-get install nginx-light; scripts/ensure-tools.sh)"
    # Compose's service names resolve only inside its network: point them at loopback here.
    config = re.sub(r"api-\d+:3001", "127.0.0.1:3001", (ROOT / "deploy" / "nginx.conf").read_text())
    (tmp_path / "nginx.conf").write_text(config)
    result = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode()


def test_env_example_lists_every_operations_setting():
    names = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line}
    for name in (
        "PORT",
        "WEB_CONCURRENCY",
        "MAX_WORKER_MEMORY_MB",
        "METRICS_TOKEN",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "ACCESS_LOG_FILE",
        "ERROR_LOG_FILE",
        "DATABASE_URL",
        "REDIS_URL",
        "POSTGRES_PASSWORD",
    ):
        assert name in names, name
