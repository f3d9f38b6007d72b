"""The extension singletons. Each is bound to the app in create_app()."""

from __future__ import annotations

from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from dorami_api.redis_client import build_redis

# Named constraints so that Alembic migrations are deterministic on PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
cors = CORS()
csrf = CSRFProtect()
socketio = SocketIO()


class RedisStore:
    """The app's Redis client (real Redis, or the embedded stand-in in development).

    Import `redis_store` and use it like a redis.Redis; `health_client` has short timeouts so a
    readiness probe never hangs on a dead server.
    """

    def __init__(self) -> None:
        self._client = None
        self._scripts: dict = {}
        self.health_client = None

    def init_app(self, app) -> None:
        target = app.config["DORAMI"].redis
        self._client = build_redis(target)
        self._scripts = {}
        self.health_client = build_redis(target, socket_connect_timeout=1.0, socket_timeout=1.0, retry=None)
        app.extensions["redis"] = self

    @property
    def client(self):
        if self._client is None:
            raise RuntimeError("Redis is not initialised: call create_app() first")
        return self._client

    def run_script(self, source: str, keys: list, args: list, client=None):
        """Run a Lua script by its SHA (EVALSHA, loaded once per server): EVAL would ship the
        whole script text with every chat message and every join. `client` may be a pipeline."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client.register_script(source)
        return script(keys=keys, args=args, client=client or self.client)

    def __getattr__(self, name):
        return getattr(self.client, name)


redis_store = RedisStore()
