"""The gunicorn worker of production (gunicorn.conf.py names it).

It is gunicorn's gevent-websocket worker plus what PM2 did for the Node service:
- SIGTERM and SIGINT stop it gracefully in this order (server/shutdown.py);
  SIGQUIT stays gunicorn's immediate stop;
- idle keep-alive connections are closed at shutdown, and responses sent while stopping carry
  `Connection: close`, so that an idle client cannot hold the worker for the whole graceful
  timeout while in-flight requests still finish;
- idle keep-alive connections are closed after gunicorn's `keepalive` seconds (pywsgi has no
  such limit of its own);
- a memory guard: above MAX_WORKER_MEMORY_MB the worker stops gracefully and the master starts
  a fresh one (PM2's max_memory_restart).

Imported by the gunicorn master too: nothing here may import prometheus_client at module level.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import time
from contextlib import suppress
from socket import SHUT_RDWR

import gevent
from gevent.pool import Pool
from gevent.socket import socket as GeventSocket
from gevent.socket import wait_read
from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from geventwebsocket.handler import WebSocketHandler
from gunicorn.http.wsgi import base_environ
from gunicorn.sock import ssl_context
from gunicorn.workers.ggevent import VERSION

from dorami_api.observability.memory import rss_bytes
from dorami_api.server import shutdown

# A connection accepted but still silent when shutdown starts gets this long to send its request.
FRESH_CONNECTION_GRACE = 2.0
# Kept from the graceful timeout for closing Redis and the database before the master's SIGKILL.
CLOSE_MARGIN = 5.0
TICK = 0.2
# How long a connection waits on another worker's listening socket before this worker takes it.
STANDBY_DELAY = 0.05


class DrainingHandler(WebSocketHandler):
    """A connection that knows whether it is between requests, so a stopping worker can close it."""

    requests_served = 0
    waiting_for_request = False

    def handle(self):
        self.server.connections.add(self)
        try:
            super().handle()
        finally:
            self.server.connections.discard(self)

    def read_requestline(self):
        if self.requests_served and self.server.draining:
            return ""  # a keep-alive connection gets no new request on a stopping worker
        self.waiting_for_request = True
        try:
            if not self.requests_served:
                return super().read_requestline()
            with gevent.Timeout(self.server.keepalive_seconds, False):
                return super().read_requestline()
            return ""  # idle longer than keepalive: close
        finally:
            self.waiting_for_request = False

    def handle_one_response(self):
        try:
            return super().handle_one_response()
        finally:
            self.requests_served += 1

    def start_response(self, status, headers, exc_info=None):
        if self.server.draining and not status.startswith("101"):
            headers = [(name, value) for name, value in headers if name.lower() != "connection"]
            headers.append(("Connection", "close"))
        return super().start_response(status, headers, exc_info)

    def close_if_waiting(self, fresh_too: bool) -> None:
        if not self.waiting_for_request or (not self.requests_served and not fresh_too):
            return
        sock = getattr(self, "socket", None)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(SHUT_RDWR)  # the blocked read returns EOF and the handler ends


class DoramiWorker(GeventWebSocketWorker):
    wsgi_handler = DrainingHandler

    def init_signals(self):
        super().init_signals()
        # Ctrl-C is a graceful stop too (operators expect SIGINT to stop as gracefully as SIGTERM).
        signal.signal(signal.SIGINT, self.handle_exit)
        signal.siginterrupt(signal.SIGINT, False)

    def run(self):
        # The app is loaded: its tens of thousands of long-lived objects (modules, SQLAlchemy
        # mappers, routes) leave the collector's sight, so a full collection no longer stops
        # every request of this worker for ~80 ms to walk them again. (No gc.collect() first: it
        # would delay the worker's first request by as long; the little garbage frozen is harmless.)
        gc.freeze()
        servers = self._start_servers()
        standby = self._start_standby(servers[0]) if servers else []
        self._serve(servers)
        gevent.killall(standby)
        self._shut_down(servers)
        self._exit()

    def _exit(self) -> None:
        """Everything is closed: leave without the interpreter's teardown of the whole heap, which
        costs this app 1-2 s of CPU per worker (gunicorn's worker_exit hook is not run; we set none)."""
        self.log.info("Worker exiting (pid: %s)", self.pid)
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        os._exit(0)

    # -- gunicorn's GeventWorker.run (23.0), split so the shutdown can be ours ---------------
    def _start_servers(self) -> list:
        ssl_args = {"ssl_context": ssl_context(self.cfg)} if self.cfg.is_ssl else {}
        servers = []
        for listener in self.sockets:
            listener.setblocking(1)
            environ = base_environ(self.cfg)
            environ.update({"wsgi.multithread": True, "SERVER_SOFTWARE": VERSION})
            server = self.server_class(
                listener,
                application=self.wsgi,
                spawn=Pool(self.worker_connections),
                log=self.log,
                handler_class=self.wsgi_handler,
                environ=environ,
                **ssl_args,
            )
            server.connections = set()
            server.draining = False
            server.keepalive_seconds = self.cfg.keepalive or 5
            if self.cfg.workers > 1:
                server.max_accept = 1  # one connection per wake-up spreads load over the workers
            server.start()
            servers.append(server)
        return servers

    def _start_standby(self, server) -> list:
        """Accept from the other workers' listening sockets (gunicorn.conf.py `pre_fork`) what has
        waited there STANDBY_DELAY: a connection the kernel handed to a worker that is stopping,
        saturated or gone is still served, and a connection it handed to a worker that is free
        stays with that worker."""
        return [gevent.spawn(self._standby, listener, server) for listener in getattr(self, "standby_sockets", [])]

    @staticmethod
    def _standby(listener, server) -> None:
        fileno = listener.fileno()
        listener.setblocking(False)
        while True:
            wait_read(fileno)
            gevent.sleep(STANDBY_DELAY)
            try:
                fd, address = listener._accept()
            except (BlockingIOError, InterruptedError):
                continue  # its own worker took it meanwhile
            except OSError:
                return
            server.do_handle(GeventSocket(listener.family, listener.type, listener.proto, fileno=fd), address)

    def _serve(self, servers: list) -> None:
        config = getattr(self.wsgi, "config", {}).get("DORAMI")
        limit_mb = getattr(config, "max_worker_memory_mb", 0)
        check_every = getattr(config, "memory_check_seconds", 10)
        self._guard_memory(limit_mb=0)  # the first figure for /metrics; the limit applies from the next check
        last_notify = last_check = time.monotonic()
        while self.alive:
            now = time.monotonic()
            if now - last_notify >= 1.0:
                self.notify()
                last_notify = now
            if now - last_check >= check_every:
                self._guard_memory(limit_mb)
                last_check = now
            gevent.sleep(TICK)

    def _guard_memory(self, limit_mb: int) -> None:
        rss = rss_bytes()
        from dorami_api.observability import metrics  # after fork: the multiprocess values

        metrics.record_memory(rss)
        if limit_mb and rss > limit_mb * 1024 * 1024:
            self.log.warning(
                "memory guard: worker %s uses %d MB, above MAX_WORKER_MEMORY_MB=%d; replacing it gracefully",
                self.pid,
                rss // (1024 * 1024),
                limit_mb,
            )
            self.alive = False

    def _shut_down(self, servers: list) -> None:
        started = time.monotonic()
        budget = max(self.cfg.graceful_timeout - CLOSE_MARGIN, 1.0)
        for server in servers:
            server.close()
            server.draining = True  # from now on every response says `Connection: close`
        self.log.info("shutdown %s: 1/6 stopped accepting connections", self.pid)

        told = shutdown.notify_shutdown(self.wsgi, self.log)
        self.log.info("shutdown %s: 2/6 sockets told and closed (%s)", self.pid, ", ".join(told) or "no callbacks")

        last_notify = time.monotonic()
        while (busy := sum(server.pool.size - server.pool.free_count() for server in servers)) and (
            time.monotonic() - started < budget
        ):
            fresh_too = time.monotonic() - started > FRESH_CONNECTION_GRACE
            for server in servers:
                for connection in list(server.connections):
                    connection.close_if_waiting(fresh_too)
            if time.monotonic() - last_notify >= 1.0:
                self.notify()
                last_notify = time.monotonic()
            gevent.sleep(0.05)
        if busy:
            self.log.warning("shutdown %s: 3/6 graceful timeout, %d connections still open", self.pid, busy)
        else:
            self.log.info("shutdown %s: 3/6 in-flight requests finished", self.pid)

        shutdown.close_redis(self.wsgi, self.log)
        self.log.info("shutdown %s: 4/6 Redis closed", self.pid)

        for server in servers:
            server.pool.kill(block=True, timeout=1)
        self.log.info("shutdown %s: 5/6 HTTP server closed", self.pid)

        shutdown.close_database(self.wsgi, self.log)
        self.log.info("shutdown %s: 6/6 database closed after %.1fs", self.pid, time.monotonic() - started)
