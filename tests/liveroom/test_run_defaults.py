"""How `bash scripts/run.sh` decides on dev sign-in (the live-room page's way in): on for a plain
local development run, left alone whenever the environment or .env says anything about it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_AUTH = ROOT / "scripts" / "dev-auth.sh"
SETTINGS = ("ENABLE_DEV_AUTH", "APP_ENV", "NODE_ENV")


def dev_auth_after_run_defaults(directory: Path, env: dict) -> str:
    """ENABLE_DEV_AUTH as the run script would hand it to the service ("unset" when it sets none)."""
    base = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    result = subprocess.run(
        ["bash", "-c", f'. "{DEV_AUTH}"; default_dev_auth >/dev/null; echo "${{ENABLE_DEV_AUTH-unset}}"'],
        cwd=directory,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "dotenv", "expected"),
    [
        ({}, None, "true"),
        ({"APP_ENV": "development"}, None, "true"),
        ({"APP_ENV": "Development"}, None, "true"),
        ({}, "DATABASE_URL=postgresql://db/dorami\nPORT=4000\n", "true"),
        ({"ENABLE_DEV_AUTH": "false"}, None, "false"),
        ({"ENABLE_DEV_AUTH": ""}, None, ""),
        ({"APP_ENV": "production"}, None, "unset"),
        ({"NODE_ENV": "production"}, None, "unset"),
        ({"APP_ENV": "test"}, None, "unset"),
        ({}, "APP_ENV=production\n", "unset"),
        ({}, "export NODE_ENV=production\n", "unset"),
        ({}, "  ENABLE_DEV_AUTH = false\n", "unset"),
    ],
)
def test_dev_sign_in_is_on_only_for_a_plain_development_run(tmp_path, env, dotenv, expected):
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    assert dev_auth_after_run_defaults(tmp_path, env) == expected


def test_the_run_script_applies_the_default_before_starting_the_service():
    lines = (ROOT / "scripts" / "run.sh").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("exec "))
    assert lines.index(". scripts/dev-auth.sh") < lines.index("default_dev_auth") < start
