"""One Config built from the environment and validated at start-up.

Production refuses to start on any setting that would make it unsafe; the error names the
problem in one line so that an operator sees it in the first line of the log.

Written by hand rather than with pydantic-settings, on purpose: what is parsed here is little
(whole numbers, booleans, durations, lists); most of this module is rules across settings (what
production refuses, defaults that depend on APP_ENV, an empty value meaning "unset"), which a
settings model would still leave to validators of ours; `from_env` reads an explicit mapping
(every test passes one); and each refusal is one ConfigError line naming the variable and the
value, where a pydantic ValidationError is several lines in pydantic's words (we would catch and
rewrite it to keep start-up errors as clear as they are).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from limits import parse_many

ENVIRONMENTS = ("development", "test", "production")
DEV_CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000", "http://localhost:5173")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class ConfigError(Exception):
    """A setting that makes the service unsafe or impossible to start."""


def parse_duration(value: str, name: str) -> timedelta:
    match = _DURATION.match(value)
    if not match:
        raise ConfigError(f"{name} must look like <n>[smhd] (e.g. 15m, 7d), got {value!r}")
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return timedelta(**{_UNITS[unit]: amount})


def _bool(value: str | None, name: str, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _int(value: str | None, name: str, default: int, minimum: int = 0) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    return number


def _limits(value: str, name: str) -> str:
    """A Flask-Limiter limit string ("20/second;100/10 seconds"), checked at start-up."""
    try:
        if not parse_many(value):
            raise ValueError
    except ValueError:
        raise ConfigError(f"{name} must be limits like '10/minute;100/hour', got {value!r}") from None
    return value


def _csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis lives: a plain URL, or a sentinel list and a service name."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str | None = None
    db: int = 0
    password: str | None = None
    username: str | None = None

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)

    def socketio_url(self) -> str:
        """The form python-socketio's RedisManager understands."""
        if not self.is_sentinel:
            return self.url
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        auth = ""
        if self.password:
            auth = f"{self.username or ''}:{self.password}@"
        return f"redis+sentinel://{auth}{hosts}/{self.db}/{self.service}"


def parse_redis_url(url: str) -> RedisTarget:
    parsed = urlparse(url)
    if parsed.scheme in ("redis", "rediss"):
        if not parsed.hostname:
            raise ConfigError(f"REDIS_URL has no host: {url!r}")
        return RedisTarget(url=url)
    if parsed.scheme == "redis-sentinel":
        hosts = parsed.netloc.rsplit("@", 1)[-1]
        sentinels = []
        for host_port in hosts.split(","):
            host, _, port = host_port.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ConfigError(f"REDIS_URL sentinel entry must be host:port, got {host_port!r}")
            sentinels.append((host, int(port)))
        parts = [p for p in parsed.path.split("/") if p]
        if not parts:
            raise ConfigError("REDIS_URL redis-sentinel:// needs a service name: .../<service>")
        db = 0
        if len(parts) >= 2 and parts[0].isdigit():
            db, parts = int(parts[0]), parts[1:]
        return RedisTarget(
            url=url,
            sentinels=tuple(sentinels),
            service=parts[0],
            db=db,
            password=parsed.password,
            username=parsed.username,
        )
    raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or redis-sentinel://, got {parsed.scheme!r}")


def _profile_key(value: str | None, env: str, jwt_secret: str) -> bytes:
    if value:
        raw = value.strip()
        try:
            key = bytes.fromhex(raw) if len(raw) == 64 else base64.b64decode(raw, validate=True)
        except (ValueError, binascii.Error):
            raise ConfigError("PROFILE_ENCRYPTION_KEY must be 32 bytes in hex or base64") from None
        if len(key) != 32:
            raise ConfigError("PROFILE_ENCRYPTION_KEY must decode to exactly 32 bytes")
        return key
    if env == "production":
        raise ConfigError("PROFILE_ENCRYPTION_KEY is required in production (32 bytes, base64 or hex)")
    # Development and tests: stable per JWT secret so restarts can still read stored addresses.
    return hashlib.sha256(b"dorami-dev-profile-key:" + jwt_secret.encode()).digest()


@dataclass(frozen=True)
class Config:
    env: str
    database_url: str
    redis: RedisTarget | None
    jwt_secret: str
    access_ttl: timedelta
    refresh_ttl: timedelta
    cors_origins: tuple[str, ...]
    csrf_enabled: bool
    port: int
    log_level: str
    log_format: str
    db_pool_size: int
    db_max_overflow: int
    enable_dev_auth: bool
    admin_emails: frozenset[str]
    profile_encryption_key: bytes
    profile_legacy_keys: tuple[bytes, ...]
    profile_key_version: str
    max_content_length: int
    socket_allow_guests: bool
    socketio_channel: str
    socket_presence_ttl: int
    ratelimit_enabled: bool
    ratelimit_default: str
    ratelimit_auth: str
    login_failure_limit: str
    refresh_reuse_grace_seconds: int
    proxy_hops: int
    order_payment_timeout_minutes: int
    order_concurrency: int
    stream_max_live_hours: int
    metrics_token: str | None
    kakao_client_id: str | None
    kakao_client_secret: str | None
    kakao_callback_url: str | None
    kakao_authorize_url: str
    kakao_token_url: str
    kakao_profile_url: str
    frontend_url: str
    media_hook_secret: str | None
    embedded_database: bool = field(default=False)
    # Operations: where log lines go (None = stdout) and the worker memory guard.
    access_log_file: str | None = None
    error_log_file: str | None = None
    max_worker_memory_mb: int = 1024
    memory_check_seconds: int = 10

    @property
    def embedded_redis(self) -> bool:
        return self.redis is None

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        e = dict(os.environ if environ is None else environ)
        env = (e.get("APP_ENV") or e.get("NODE_ENV") or "development").strip().lower()
        if env not in ENVIRONMENTS:
            raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
        prod = env == "production"

        jwt_secret = e.get("JWT_SECRET", "")
        if prod and not jwt_secret:
            raise ConfigError("JWT_SECRET is required in production (at least 32 characters)")
        if jwt_secret and len(jwt_secret) < 32 and prod:
            raise ConfigError(f"JWT_SECRET must be at least 32 characters, got {len(jwt_secret)}")
        if not jwt_secret:
            jwt_secret = secrets.token_urlsafe(48)  # random per run outside production

        database_url = e.get("DATABASE_URL", "").strip()
        embedded_database = False
        if not database_url:
            if prod:
                raise ConfigError("DATABASE_URL is required in production (postgresql://...)")
            instance = Path(e.get("DORAMI_INSTANCE_DIR", Path.cwd() / "instance"))
            database_url = f"sqlite:///{instance / 'dorami.sqlite3'}"
            embedded_database = True
        elif database_url.startswith("postgres://"):
            database_url = "postgresql://" + database_url[len("postgres://") :]
        if not embedded_database and not database_url.startswith(("postgresql", "sqlite")):
            raise ConfigError("DATABASE_URL must be a postgresql:// URL")

        redis_url = e.get("REDIS_URL", "").strip()
        if not redis_url and prod:
            raise ConfigError("REDIS_URL is required in production (redis://, rediss:// or redis-sentinel://)")
        redis = parse_redis_url(redis_url) if redis_url else None

        cors = _csv(e.get("CORS_ORIGINS"))
        if "*" in cors and prod:
            raise ConfigError("CORS_ORIGINS must list explicit origins in production; '*' is refused")
        if not cors and not prod:
            cors = DEV_CORS_ORIGINS

        csrf_enabled = _bool(e.get("CSRF_ENABLED"), "CSRF_ENABLED", True)
        if prod and not csrf_enabled:
            raise ConfigError("CSRF_ENABLED=false is refused in production")

        log_level = (e.get("LOG_LEVEL") or ("WARNING" if prod else "DEBUG")).upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")
        log_format = (e.get("LOG_FORMAT") or "text").lower()
        if log_format not in ("text", "json"):
            raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")

        enable_dev_auth = _bool(e.get("ENABLE_DEV_AUTH"), "ENABLE_DEV_AUTH", False)
        if prod and enable_dev_auth:
            raise ConfigError("ENABLE_DEV_AUTH=true is refused in production")

        legacy_keys = tuple(_profile_key(k, env, jwt_secret) for k in _csv(e.get("PROFILE_LEGACY_ENCRYPTION_KEYS")))
        return cls(
            env=env,
            database_url=database_url,
            embedded_database=embedded_database,
            redis=redis,
            jwt_secret=jwt_secret,
            access_ttl=parse_duration(e.get("JWT_EXPIRATION") or "15m", "JWT_EXPIRATION"),
            refresh_ttl=parse_duration(e.get("JWT_REFRESH_EXPIRATION") or "7d", "JWT_REFRESH_EXPIRATION"),
            cors_origins=cors,
            csrf_enabled=csrf_enabled,
            port=_int(e.get("PORT"), "PORT", 3001, minimum=1),
            log_level=log_level,
            log_format=log_format,
            db_pool_size=_int(e.get("DB_POOL_SIZE"), "DB_POOL_SIZE", 20, minimum=1),
            db_max_overflow=_int(e.get("DB_MAX_OVERFLOW"), "DB_MAX_OVERFLOW", 10),
            enable_dev_auth=enable_dev_auth,
            admin_emails=frozenset(x.lower() for x in _csv(e.get("ADMIN_EMAILS"))),
            profile_encryption_key=_profile_key(e.get("PROFILE_ENCRYPTION_KEY"), env, jwt_secret),
            profile_legacy_keys=legacy_keys,
            profile_key_version=e.get("PROFILE_ENCRYPTION_KEY_VERSION") or "v1",
            max_content_length=_int(e.get("MAX_CONTENT_LENGTH"), "MAX_CONTENT_LENGTH", 1024 * 1024, 1024),
            socket_allow_guests=_bool(e.get("SOCKET_ALLOW_GUESTS"), "SOCKET_ALLOW_GUESTS", False),
            socketio_channel=e.get("SOCKETIO_CHANNEL") or "dorami-socketio",
            socket_presence_ttl=_int(e.get("SOCKET_PRESENCE_TTL"), "SOCKET_PRESENCE_TTL", 45, minimum=3),
            ratelimit_enabled=_bool(e.get("RATELIMIT_ENABLED"), "RATELIMIT_ENABLED", True),
            ratelimit_default=_limits(
                e.get("RATELIMIT_DEFAULT") or "20/second;100/10 seconds;500/minute", "RATELIMIT_DEFAULT"
            ),
            ratelimit_auth=_limits(e.get("RATELIMIT_AUTH") or "10/minute", "RATELIMIT_AUTH"),
            login_failure_limit=_limits(e.get("LOGIN_FAILURE_LIMIT") or "5/15 minutes", "LOGIN_FAILURE_LIMIT"),
            refresh_reuse_grace_seconds=_int(
                e.get("REFRESH_REUSE_GRACE_SECONDS"), "REFRESH_REUSE_GRACE_SECONDS", 10, minimum=0
            ),
            proxy_hops=_int(e.get("PROXY_HOPS"), "PROXY_HOPS", 0),
            order_payment_timeout_minutes=_int(
                e.get("ORDER_PAYMENT_TIMEOUT_MINUTES"), "ORDER_PAYMENT_TIMEOUT_MINUTES", 0
            ),
            order_concurrency=_int(e.get("ORDER_CONCURRENCY"), "ORDER_CONCURRENCY", 8, minimum=1),
            stream_max_live_hours=_int(e.get("STREAM_MAX_LIVE_HOURS"), "STREAM_MAX_LIVE_HOURS", 12),
            metrics_token=e.get("METRICS_TOKEN") or None,
            kakao_client_id=e.get("KAKAO_CLIENT_ID") or None,
            kakao_client_secret=e.get("KAKAO_CLIENT_SECRET") or None,
            kakao_callback_url=e.get("KAKAO_CALLBACK_URL") or None,
            kakao_authorize_url=e.get("KAKAO_AUTHORIZE_URL") or "https://kauth.kakao.com/oauth/authorize",
            kakao_token_url=e.get("KAKAO_TOKEN_URL") or "https://kauth.kakao.com/oauth/token",
            kakao_profile_url=e.get("KAKAO_PROFILE_URL") or "https://kapi.kakao.com/v2/user/me",
            frontend_url=(e.get("FRONTEND_URL") or "http://localhost:3000").rstrip("/"),
            media_hook_secret=e.get("MEDIA_HOOK_SECRET") or None,
            access_log_file=e.get("ACCESS_LOG_FILE") or None,
            error_log_file=e.get("ERROR_LOG_FILE") or None,
            # 0 turns the guard off.
            max_worker_memory_mb=_int(e.get("MAX_WORKER_MEMORY_MB"), "MAX_WORKER_MEMORY_MB", 1024),
            memory_check_seconds=_int(e.get("MEMORY_CHECK_SECONDS"), "MEMORY_CHECK_SECONDS", 10, minimum=1),
        )
