"""Real Socket.IO clients for tests (python-socketio's Client over websocket-client or polling),
recording every event so a test can wait for one with a bounded timeout, and helpers to see which
server process holds a socket and to broadcast from a process that serves no sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parents[2]
NAMESPACES = ("/", "/streaming", "/chat")
WAIT_SECONDS = 10.0


class SocketRefused(Exception):
    def __init__(self, errors: dict) -> None:
        super().__init__(f"connection refused: {errors}")
        self.errors = errors  # namespace -> connect_error message (the error code)


class Viewer:
    """One Socket.IO connection (one Engine.IO session) with any of the three namespaces."""

    def __init__(
        self,
        url: str,
        namespaces=NAMESPACES,
        token: str | None = None,
        transports=("websocket",),
        headers: dict | None = None,
        auth: dict | None = None,
    ) -> None:
        self.url = url
        self.namespaces = tuple(namespaces)
        self.client = socketio.Client(reconnection=False, request_timeout=5)
        self.events: list[tuple[str, str, object]] = []
        self.arrivals: list[tuple[str, str, float]] = []  # (namespace, event, monotonic time)
        self.connect_errors: dict[str, str] = {}
        self.disconnects: list[tuple[str, object]] = []
        self._changed = threading.Condition()
        for namespace in self.namespaces:
            self._listen(namespace)
        if auth is None and token is not None:
            auth = {"token": token}
        try:
            self.client.connect(
                url,
                namespaces=list(self.namespaces),
                transports=list(transports),
                auth=auth,
                headers=headers or {},
                wait_timeout=WAIT_SECONDS,
            )
        except socketio.exceptions.ConnectionError:
            self.close()
            raise SocketRefused(dict(self.connect_errors)) from None

    def _listen(self, namespace: str) -> None:
        def on_any(event, *args):
            self._record(namespace, event, args[0] if args else None)

        def on_connect_error(data=None):
            message = data.get("message") if isinstance(data, dict) else data
            self.connect_errors[namespace] = message
            self._record(namespace, "connect_error", data)

        def on_disconnect(reason=None):
            self.disconnects.append((namespace, reason))
            self._record(namespace, "disconnect", reason)

        self.client.on("*", on_any, namespace=namespace)
        self.client.on("connect_error", on_connect_error, namespace=namespace)
        self.client.on("disconnect", on_disconnect, namespace=namespace)

    def _record(self, namespace: str, event: str, data) -> None:
        with self._changed:
            self.events.append((namespace, event, data))
            self.arrivals.append((namespace, event, time.monotonic()))
            self._changed.notify_all()

    # --- talking -----------------------------------------------------------------------------

    def call(self, event: str, data: dict, namespace: str, timeout: float = WAIT_SECONDS):
        """Emit with an acknowledgement and return what the server acknowledged."""
        return self.client.call(event, data, namespace=namespace, timeout=timeout)

    def emit(self, event: str, data: dict, namespace: str) -> None:
        self.client.emit(event, data, namespace=namespace)

    # --- waiting -----------------------------------------------------------------------------

    def received(self, event: str, namespace: str | None = None, match=None) -> list:
        return [
            data
            for ns, name, data in list(self.events)
            if name == event and (namespace is None or ns == namespace) and (match is None or match(data))
        ]

    def wait_for(
        self, event: str, namespace: str | None = None, match=None, timeout: float = WAIT_SECONDS, count: int = 1
    ):
        """The `count`-th matching event's data; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self.received(event, namespace, match)
                if len(found) >= count:
                    return found[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(ns, name) for ns, name, _ in self.events][-20:]
                    raise AssertionError(f"no {event!r} in {namespace} within {timeout}s; last events: {seen}")
                self._changed.wait(remaining)

    def arrival_times(self, event: str, namespace: str | None = None) -> list[float]:
        return [t for ns, name, t in list(self.arrivals) if name == event and (namespace is None or ns == namespace)]

    def wait_disconnected(self, timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while self.client.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.client.connected, "socket still connected"

    def local_port(self) -> int:
        return self.client.eio.ws.sock.getsockname()[1]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()
        with contextlib.suppress(Exception):
            self.client.shutdown()


def broadcast_from_another_process(env: dict, call: str, timeout: float = 30) -> None:
    """Build the app in a fresh Python process (no Socket.IO clients, not under gevent) and run
    `call` against dorami_api.realtime.broadcast there — what a REST worker or the jobs worker do."""
    script = (
        "from dorami_api import create_app\n"
        "from dorami_api.realtime import broadcast\n"
        "app = create_app()\n"
        f"with app.app_context():\n    broadcast.{call}\n"
    )
    # Not recorded for the AsyncAPI check (tests/contract): the call's data is the test's own,
    # often only the fields the test reads, not what the service sends.
    quiet = {key: value for key, value in {**os.environ, **env}.items() if key != "DORAMI_EVENT_LOG"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=quiet,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def serving_pid(viewer: Viewer, server_port: int) -> int | None:
    """The pid of the server process holding this viewer's WebSocket (read from /proc), so a
    test can prove its clients sit on different gunicorn workers."""
    client_port = viewer.local_port()
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                inodes.add(f"socket:[{inode}]")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def viewers_on_distinct_workers(server, token: str, workers: int = 2, namespaces=NAMESPACES) -> list[Viewer]:
    """One WebSocket viewer on each of `workers` different worker processes of `server`.

    Which worker accepts a connection is the kernel's choice (every worker waits on the one
    listening socket), and a worker that is still loading the app accepts nothing, so connecting
    until the pids differ is a gamble. Instead: the workers that already hold a viewer are paused
    (SIGSTOP), so the next connection can only be accepted by another worker; a health request
    with a long timeout waits until that worker serves, then the viewer connects there and the
    paused workers resume (SIGCONT). Paused for well under a second: no ping or presence timeout.
    """
    viewers: list[Viewer] = []
    used: list[int] = []
    try:
        for _ in range(workers):
            with paused(used):
                if used:
                    requests.get(f"{server.url}/api/v1/health/live", timeout=60, headers={"Connection": "close"})
                viewer = Viewer(server.url, namespaces, token=token)
            viewers.append(viewer)
            pid = serving_pid(viewer, server.port)
            assert pid is not None and pid not in used, f"viewer landed on {pid}, already used {used}"
            used.append(pid)
    except BaseException:
        for viewer in viewers:
            viewer.close()
        raise
    return viewers


@contextlib.contextmanager
def paused(pids):
    """SIGSTOP these processes for the duration of the block (SIGCONT after, whatever happens)."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
