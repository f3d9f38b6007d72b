"""Dependencies a fault drill may break: its own redis-server (and a Sentinel set) on spare ports,
and a TCP proxy in front of the shared PostgreSQL that can be cut like a stopped server. The
shared Redis and PostgreSQL are never touched; every process started here is stopped by pid."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import redis

from tests.support.server import free_port


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    assert Path(found).exists(), "redis-server is missing (scripts/ensure-tools.sh installs it)"
    return found


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """condition()'s first truthy value; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(interval)


class RedisProcess:
    """One redis-server (or sentinel) in the foreground, on a fixed port so it can come back."""

    def __init__(self, directory: Path, name: str, port: int | None = None, extra: tuple[str, ...] = ()) -> None:
        self.directory = directory / name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = port or free_port()
        self.extra = extra
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, decode_responses=True)

    def _arguments(self) -> list[str]:
        base = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        return [redis_server_binary(), *base, "--dir", str(self.directory), *self.extra]

    def start(self) -> RedisProcess:
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115 - handed to the process
        self.process = subprocess.Popen(self._arguments(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(self._answers, 10, f"{self.name} answering on {self.port}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, f"{self.name} exited"
        try:
            with contextlib.closing(self.client()) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: gone at once, connections reset, nothing flushed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()


class SentinelSet:
    """A master, its replica and one Sentinel watching them (quorum 1, down after 1 s)."""

    SERVICE = "dorami"

    def __init__(self, directory: Path) -> None:
        self.master = RedisProcess(directory, "master")
        self.replica = RedisProcess(directory, "replica", extra=("--replicaof", "127.0.0.1", str(self.master.port)))
        self.sentinel_port = free_port()
        self.sentinel_dir = directory / "sentinel"
        self.sentinel_dir.mkdir(parents=True, exist_ok=True)
        self.sentinel: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis-sentinel://127.0.0.1:{self.sentinel_port}/{self.SERVICE}"

    def start(self) -> SentinelSet:
        self.master.start()
        self.replica.start()
        wait_until(self._replica_in_sync, 15, "replica in sync")
        config = self.sentinel_dir / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.sentinel_dir}\n"
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
            f"sentinel failover-timeout {self.SERVICE} 5000\n"
            f"sentinel parallel-syncs {self.SERVICE} 1\n"
        )
        log = open(self.sentinel_dir / "sentinel.log", "ab")  # noqa: SIM115 - handed to the process
        self.sentinel = subprocess.Popen(
            [redis_server_binary(), str(config), "--sentinel"], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_until(lambda: self.master_port() == self.master.port, 15, "sentinel watching the master")
        wait_until(self._sentinel_knows_replica, 15, "sentinel knowing the replica")
        return self

    def _replica_in_sync(self) -> bool:
        try:
            info = self.replica.client().info("replication")
        except redis.RedisError:
            return False
        return info.get("master_link_status") == "up"

    def _sentinel_knows_replica(self) -> bool:
        try:
            replicas = self._sentinel_client().sentinel_slaves(self.SERVICE)
        except redis.RedisError:
            return False
        return any(int(r.get("port", 0)) == self.replica.port and "s_down" not in r.get("flags", "") for r in replicas)

    def _sentinel_client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.sentinel_port, socket_timeout=2, decode_responses=True)

    def master_port(self) -> int | None:
        try:
            with contextlib.closing(self._sentinel_client()) as client:
                address = client.sentinel_get_master_addr_by_name(self.SERVICE)
        except redis.RedisError:
            return None
        return int(address[1]) if address else None

    def stop(self) -> None:
        if self.sentinel is not None and self.sentinel.poll() is None:
            self.sentinel.send_signal(signal.SIGKILL)
            self.sentinel.wait(timeout=10)
        self.replica.stop()
        self.master.stop()


class CuttableProxy:
    """A TCP proxy in front of a server. `cut()` makes it look stopped: every connection through it
    is reset and new ones are refused (nothing listens); `restore()` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def url_for(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by this proxy's."""
        parsed = urlparse(database_url)
        credentials = parsed.netloc.rsplit("@", 1)[0] + "@" if "@" in parsed.netloc else ""
        return urlunparse(parsed._replace(netloc=f"{credentials}127.0.0.1:{self.port}"))

    def start(self) -> CuttableProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._connections.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._drop(end)

    def _drop(self, end: socket.socket) -> None:
        with self._lock:
            self._connections.discard(end)
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            end.close()

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        with self._lock:
            connections = list(self._connections)
        for end in connections:
            self._drop(end)

    def restore(self) -> None:
        if self._listener is None:
            self.start()

    def stop(self) -> None:
        self.cut()
