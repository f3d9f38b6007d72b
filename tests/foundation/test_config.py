"""Configuration from the environment: production refuses unsafe settings at start-up."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import pytest

from dorami_api.config import Config, ConfigError
from tests.support.server import ROOT, VENV_BIN

GOOD_PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://u@127.0.0.1:5432/dorami",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "JWT_SECRET": "x" * 32,
    "CORS_ORIGINS": "https://dorami.example",
    "PROFILE_ENCRYPTION_KEY": "00" * 32,
}

MISCONFIGURATIONS = [
    ({"JWT_SECRET": None}, "JWT_SECRET is required"),
    ({"JWT_SECRET": "short-secret"}, "JWT_SECRET must be at least 32 characters"),
    ({"CORS_ORIGINS": "https://dorami.example,*"}, "CORS_ORIGINS"),
    ({"DATABASE_URL": None}, "DATABASE_URL is required"),
    ({"REDIS_URL": None}, "REDIS_URL is required"),
    ({"CSRF_ENABLED": "false"}, "CSRF_ENABLED=false is refused"),
    ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL must start with"),
    ({"PROFILE_ENCRYPTION_KEY": None}, "PROFILE_ENCRYPTION_KEY is required"),
]


def _env(changes: dict) -> dict:
    env = dict(GOOD_PRODUCTION)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_a_complete_production_configuration_is_accepted():
    config = Config.from_env(GOOD_PRODUCTION)
    assert config.is_production
    assert config.access_ttl == timedelta(minutes=15)
    assert config.refresh_ttl == timedelta(days=7)
    assert config.log_level == "WARNING"
    assert config.port == 3001


@pytest.mark.parametrize(("changes", "message"), MISCONFIGURATIONS)
def test_production_refuses_each_misconfiguration(changes, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(_env(changes))


def _clean_environ(extra: dict) -> dict:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")}
    return {**keep, **extra}


@pytest.mark.parametrize(("changes", "message"), MISCONFIGURATIONS[:6])
def test_the_process_exits_non_zero_with_one_line_naming_the_problem(changes, message):
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "dorami_api"],
        cwd=ROOT,
        env=_clean_environ(_env(changes)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_gunicorn_refuses_to_start_on_a_bad_production_configuration():
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=_clean_environ({**_env({"JWT_SECRET": "too-short"}), "PORT": "0"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "JWT_SECRET must be at least 32 characters" in result.stderr


def test_node_env_is_read_when_app_env_is_absent():
    env = _env({"APP_ENV": None})
    env["NODE_ENV"] = "production"
    assert Config.from_env(env).is_production


def test_development_defaults_to_the_embedded_services(tmp_path):
    config = Config.from_env({"DORAMI_INSTANCE_DIR": str(tmp_path)})
    assert config.env == "development"
    assert config.embedded_database and config.embedded_redis
    assert config.database_url == f"sqlite:///{tmp_path}/dorami.sqlite3"
    assert config.log_level == "DEBUG"
    assert len(config.jwt_secret) >= 32


def test_redis_url_accepts_tls_and_sentinel_forms():
    assert Config.from_env(_env({"REDIS_URL": "rediss://h:6380/1"})).redis.url == "rediss://h:6380/1"
    target = Config.from_env(_env({"REDIS_URL": "redis-sentinel://s1:26379,s2:26380/mymaster"})).redis
    assert target.sentinels == (("s1", 26379), ("s2", 26380))
    assert target.service == "mymaster"
    assert target.socketio_url() == "redis+sentinel://s1:26379,s2:26380/0/mymaster"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30s", timedelta(seconds=30)), ("2h", timedelta(hours=2)), ("1d", timedelta(days=1))],
)
def test_token_lifetimes_use_the_n_smhd_form(value, expected):
    assert Config.from_env(_env({"JWT_EXPIRATION": value})).access_ttl == expected


def test_a_malformed_duration_is_refused():
    with pytest.raises(ConfigError, match="JWT_EXPIRATION"):
        Config.from_env(_env({"JWT_EXPIRATION": "15 minutes"}))
