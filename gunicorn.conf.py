"""gunicorn settings: the process manager of production (the PM2 of the replaced service).

Start: gunicorn -c gunicorn.conf.py wsgi:app
"""

import multiprocessing
import os
import sys

from dorami_api.config import Config, ConfigError

bind = f"0.0.0.0:{os.environ.get('PORT', '3001')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# The only worker that serves both WebSocket upgrades and HTTP on gevent (ARCHITECTURE.md).
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
# Every open socket is a connection: gunicorn's default of 1000 would cap viewers per worker.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
graceful_timeout = 30
timeout = 60
keepalive = 5
# No preload: each worker imports the app after gevent has patched its own process.
preload_app = False
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def on_starting(server):
    """Refuse to start on an unsafe configuration, with one line that names the problem."""
    try:
        Config.from_env()
    except ConfigError as error:
        print(f"dorami-api: configuration error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
