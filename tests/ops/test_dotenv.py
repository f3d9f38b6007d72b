"""A `.env` file in the working directory is read at start-up by the run command's process
(`python -m dorami_api`) and by the `flask` command, never overriding a variable already set."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.server import ROOT, VENV_BIN, free_port, wait_until_live

pytestmark = pytest.mark.slow


def bare_environment(**extra: str) -> dict:
    """Nothing of the test configuration: what a developer's shell has, plus the repository on
    the import path (the commands run from a directory of their own)."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def write_dotenv(directory: Path, **settings: str) -> None:
    lines = [f"{name}={value}" for name, value in settings.items()]
    (directory / ".env").write_text("# written by the test\n" + "\n".join(lines) + "\n")


def test_the_run_command_reads_dotenv_without_overriding_the_environment(tmp_path):
    set_port, dotenv_port = free_port(), free_port()
    write_dotenv(tmp_path, PORT=str(dotenv_port), ENABLE_DEV_AUTH="true", LOG_LEVEL="WARNING")
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dorami_api"],
            cwd=tmp_path,
            env=bare_environment(PORT=str(set_port)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{set_port}"
        try:
            wait_until_live(url, process, timeout=60)
        except RuntimeError as error:
            raise AssertionError(f"{error}:\n{log_path.read_text(errors='replace')[-3000:]}") from None
        # PORT was set in the environment: it wins over the file's.
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{dotenv_port}/api/v1/health/live", timeout=2)
        # ENABLE_DEV_AUTH came from the file only: dev login answers (it is a 404 when off).
        login = requests.post(
            f"{url}/api/v1/auth/dev-login", json={"email": "dotenv@dorami.test", "name": "Dot"}, timeout=10
        )
        assert login.status_code == 200, login.text
        assert login.json()["data"]["user"]["email"] == "dotenv@dorami.test"
    finally:
        process.terminate()
        process.wait(timeout=40)


def flask_db_upgrade(directory: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade", "--directory", str(ROOT / "migrations")],
        cwd=directory,
        env=bare_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def migrated_tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_the_flask_command_reads_dotenv_without_overriding_the_environment(tmp_path):
    from_file = tmp_path / "from-dotenv.sqlite3"
    write_dotenv(tmp_path, DATABASE_URL=f"sqlite:///{from_file}", LOG_LEVEL="WARNING")

    result = flask_db_upgrade(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # The database named in .env was migrated, not the embedded default under instance/.
    assert {"alembic_version", "users"} <= migrated_tables(from_file)
    assert not (tmp_path / "instance").exists()

    from_environment = tmp_path / "from-environment.sqlite3"
    from_file.unlink()
    result = flask_db_upgrade(tmp_path, DATABASE_URL=f"sqlite:///{from_environment}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "users" in migrated_tables(from_environment)
    assert not from_file.exists()
