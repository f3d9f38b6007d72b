"""gunicorn settings: the process manager of production (the PM2 of the replaced service).

Start: gunicorn -c gunicorn.conf.py wsgi:app
- crashed workers are replaced by the master at once (PM2 autorestart);
- `kill -HUP <master>` starts new workers, then stops the old ones gracefully (PM2 reload);
- `kill -TERM <master>` (or Ctrl-C) stops gracefully within `graceful_timeout`;
- `kill -TTIN` / `-TTOU` add or remove one worker while running.
The worker class, with the shutdown sequence, keep-alive handling and memory guard, is in
dorami_api/server/worker.py.
"""

import multiprocessing
import os
import shutil
import sys
import tempfile
from pathlib import Path

from gunicorn.sock import TCPSocket, create_sockets

from dorami_api.config import Config, ConfigError
from dorami_api.realtime import listeners

bind = f"0.0.0.0:{os.environ.get('PORT', '3001')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# gevent-websocket (ARCHITECTURE.md: the only worker serving WebSocket upgrades and HTTP on gevent),
# with the shutdown sequence and memory guard.
worker_class = "dorami_api.server.worker.DoramiWorker"
# Every open socket is a connection: gunicorn's default of 1000 would cap viewers per worker.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
# One listening socket per worker, spread by the kernel (SO_REUSEPORT hashes each new connection
# to one of them): with a single shared socket whichever worker wakes first takes the connection,
# and at a burst one worker held most of them while the other core idled. See `when_ready`.
reuse_port = True
graceful_timeout = 30
timeout = 60
# Seconds an idle keep-alive connection stays open (enforced by our worker; pywsgi has no limit).
keepalive = int(os.environ.get("KEEPALIVE_SECONDS", "5"))
# No preload: each worker imports the app after gevent has patched its own process.
preload_app = False
# The app writes one access line per request itself (with its request id, redacted, JSON when
# LOG_FORMAT=json; ACCESS_LOG_FILE sends those lines to a file). gunicorn's own lines (worker
# boots, exits, the shutdown steps) go to stderr, or to ERROR_LOG_FILE.
accesslog = None
errorlog = os.environ.get("ERROR_LOG_FILE") or "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logger_class = "dorami_api.observability.gunicorn_logger.DoramiGunicornLogger"


def on_starting(server):
    """Refuse to start on an unsafe configuration, with one line that names the problem."""
    try:
        Config.from_env()
    except ConfigError as error:
        print(f"dorami-api: configuration error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    _prepare_metrics_directory()
    _prepare_listeners_directory()
    # gunicorn's SIGINT is an immediate stop; here SIGINT stops gracefully too, like SIGTERM.
    server.handle_int = server.handle_term


def _prepare_metrics_directory():
    """Each worker writes its samples into PROMETHEUS_MULTIPROC_DIR and /metrics adds them up.

    Set before any worker starts (workers inherit the environment and import prometheus_client
    only after the fork; the master never imports it before this). Created here unless the
    operator chose one; samples of a previous run are removed so they are not added to this one's.
    """
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not chosen:
        created = tempfile.mkdtemp(prefix="dorami-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["DORAMI_OWNED_METRICS_DIR"] = created
        return
    Path(chosen).mkdir(parents=True, exist_ok=True)
    for stale in Path(chosen).glob("*.db"):
        stale.unlink()


def _prepare_listeners_directory():
    """Where the workers record which of their message-queue listeners are down, so that any
    worker's readiness answer covers all of them (dorami_api/realtime/listeners.py)."""
    if not os.environ.get(listeners.DIRECTORY_VARIABLE):
        os.environ[listeners.DIRECTORY_VARIABLE] = tempfile.mkdtemp(prefix="dorami-listeners-")
        os.environ["DORAMI_OWNED_LISTENERS_DIR"] = os.environ[listeners.DIRECTORY_VARIABLE]


_multiprocess = None


def when_ready(server):
    """Import prometheus_client's multiprocess helpers once, here, with PROMETHEUS_MULTIPROC_DIR
    already set: importing it inside child_exit (a SIGCHLD handler) raced with itself when two
    workers exited together ("partially initialized module"). Then open the listening slots."""
    global _multiprocess
    from prometheus_client import multiprocess

    _multiprocess = multiprocess
    _open_listening_slots(server)


def _open_listening_slots(server):
    """One set of listening sockets per worker ("slot"): gunicorn's own (slot 0) and as many more
    bound to the same addresses with SO_REUSEPORT, kept open by the master for its whole life.

    Because the master holds them, a socket is never closed when a worker stops: on a reload
    (HUP) the new worker of a slot accepts from the same socket its predecessor did, so no
    connection waiting in its queue is reset. Kept on the arbiter, which survives a reload (this
    file is read again on HUP). Not inheritable across exec (USR2 passes gunicorn's own only)."""
    if getattr(server, "dorami_slots", None) is not None:
        return
    slots = [list(server.LISTENERS)]
    if server.cfg.reuse_port and all(isinstance(listener, TCPSocket) for listener in server.LISTENERS):
        for _ in range(1, server.num_workers):
            extra = create_sockets(server.cfg, server.log)
            for listener in extra:
                listener.sock.set_inheritable(False)
            slots.append(extra)
    server.dorami_slots = slots


def pre_fork(server, worker):
    """Give the new worker the slot with the fewest live workers (a replacement takes the slot of
    the worker it replaces; on a reload each new worker shares a slot with an old one until that
    one has stopped). It accepts from its slot's sockets, and from the others only what has waited
    there STANDBY_DELAY (dorami_api/server/worker.py): a slot whose worker is stopping, busy or
    gone is still served."""
    slots = getattr(server, "dorami_slots", None)
    if not slots:
        return
    taken = [0] * len(slots)
    for other in server.WORKERS.values():
        slot = getattr(other, "dorami_slot", None)
        if slot is not None and slot < len(slots):
            taken[slot] += 1
    worker.dorami_slot = taken.index(min(taken))
    worker.sockets = slots[worker.dorami_slot]
    worker.standby_sockets = [
        listener for i, other in enumerate(slots) if i != worker.dorami_slot for listener in other
    ]


def child_exit(server, worker):
    """A dead worker's live gauges (sockets, memory) and its listeners must stop counting."""
    if _multiprocess is not None:
        _multiprocess.mark_process_dead(worker.pid)
    listeners.forget_process(worker.pid)


def on_exit(server):
    if server.reexec_pid:  # USR2: the new master (our child) keeps using the directory
        return
    owned = os.environ.get("DORAMI_OWNED_METRICS_DIR")
    if owned and owned == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(owned, ignore_errors=True)
    owned = os.environ.get("DORAMI_OWNED_LISTENERS_DIR")
    if owned and owned == os.environ.get(listeners.DIRECTORY_VARIABLE):
        shutil.rmtree(owned, ignore_errors=True)
