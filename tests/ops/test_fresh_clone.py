"""The README's two commands on a fresh clone of the committed HEAD, in the README's order: the run
command until the service answers, then the test command's install and collection step; then
again after a change to the requirements. pip's own cache makes the installs quick."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest
import requests

from tests.support.server import ROOT, free_port, wait_until_live

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

# Set for the clone's commands: the inner test command only collects, and this says so if a
# change ever made it run this test inside itself.
NESTED = "DORAMI_FRESH_CLONE_CHECK"
INSTALL_SECONDS = 600


def clone_of_head(tmp_path: Path) -> Path:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    subprocess.run(["git", "checkout", "--quiet", head.stdout.strip()], cwd=clone, check=True)
    return clone


def newcomer_environment() -> dict:
    """A shell with nothing of ours configured: no DATABASE_URL, REDIS_URL, APP_ENV (embedded
    mode), no virtualenv; only what finds Python, pip's settings and the test services."""
    kept = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "CI", "PYENV_ROOT", "PYENV_VERSION")
    env = {name: os.environ[name] for name in kept if name in os.environ}
    env.update({name: value for name, value in os.environ.items() if name.startswith(("PIP_", "TEST_"))})
    virtualenv = os.environ.get("VIRTUAL_ENV")
    if virtualenv:
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(virtualenv))
    env[NESTED] = "1"
    return env


def run_command_until_live(clone: Path, env: dict, log_path: Path) -> str:
    """`bash scripts/run.sh` until /api/v1/health/live answers 200; then stopped (its process
    group, by pid) and its output returned."""
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=clone,
            env={**env, "PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_live(f"http://127.0.0.1:{port}", process, timeout=INSTALL_SECONDS)
        ready = requests.get(f"http://127.0.0.1:{port}/api/v1/health/ready", timeout=5)
        assert ready.status_code == 200, ready.text
    except Exception as error:
        raise AssertionError(f"{error}\n{log_path.read_text(errors='replace')[-4000:]}") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    return log_path.read_text(errors="replace")


def collect_with_the_test_command(clone: Path, env: dict) -> str:
    result = subprocess.run(
        ["bash", "scripts/test.sh", "--collect-only", "-q"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def marker_wheel(directory: Path, name: str) -> Path:
    """A one-module wheel built here (no index, no network): adding its path to a requirement file
    is a real requirements change whose effect is visible (the module imports)."""
    files = {
        f"{name}.py": b"INSTALLED = True\n",
        f"{name}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{name}-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{name}-1.0.dist-info/RECORD"] = ("\n".join([*record, f"{name}-1.0.dist-info/RECORD,,"]) + "\n").encode()
    wheel = directory / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def require(clone: Path, requirement_file: str, wheel: Path) -> None:
    with open(clone / requirement_file, "a") as requirements:
        requirements.write(f"\n{wheel}\n")


def imports(clone: Path, module: str) -> bool:
    check = [str(clone / ".venv/bin/python"), "-c", f"import {module}"]
    return subprocess.run(check, capture_output=True, timeout=60).returncode == 0


def test_the_readme_commands_work_on_a_fresh_clone_in_order_and_after_requirements_changes(tmp_path):
    assert NESTED not in os.environ, "the fresh-clone check must not run inside its own clone"
    clone = clone_of_head(tmp_path)
    env = newcomer_environment()

    first_run = run_command_until_live(clone, env, tmp_path / "run-1.log")
    assert "embedded SQLite + in-process Redis" in first_run

    # The README's second command right after the first: its tools are installed (lint runs),
    # and the whole suite is collected, this test among it.
    collected = collect_with_the_test_command(clone, env)
    assert "tests/ops/test_fresh_clone.py::test_the_readme_commands_work" in collected
    assert " tests collected" in collected

    # A new runtime requirement: the run command (now after the test command) installs it.
    require(clone, "requirements.txt", marker_wheel(tmp_path, "dorami_runtime_marker"))
    assert not imports(clone, "dorami_runtime_marker")
    run_command_until_live(clone, env, tmp_path / "run-2.log")
    assert imports(clone, "dorami_runtime_marker")

    # A new test-only requirement: the test command installs it.
    require(clone, "requirements-dev.txt", marker_wheel(tmp_path, "dorami_dev_marker"))
    assert " tests collected" in collect_with_the_test_command(clone, env)
    assert imports(clone, "dorami_dev_marker")
