"""Real server processes for tests: gunicorn with the production worker class (or several),
started on free loopback ports and stopped by pid at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    process: subprocess.Popen
    port: int
    log_path: Path
    env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> set[int]:
        """The master's live child processes (gunicorn workers), read from /proc."""
        return children_of(self.process.pid)

    def wait_for_log(self, text: str, timeout: float = 20, count: int = 1) -> str:
        """Wait until `text` appears `count` times in the log; return the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if log.count(text) >= count:
                return log
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not logged {count}x within {timeout}s:\n{self.log()[-3000:]}")

    def wait_for_workers(self, count: int, exclude: set[int] = frozenset(), timeout: float = 30) -> set[int]:
        """Wait until `count` workers run, none of them in `exclude`, and the server answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == count and not pids & set(exclude):
                wait_until_live(self.url, self.process, timeout=max(deadline - time.monotonic(), 1))
                return pids
            time.sleep(0.1)
        raise AssertionError(f"wanted {count} new workers, have {self.worker_pids()}:\n{self.log()[-3000:]}")

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 35) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode


def children_of(parent: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, then the parent pid. Zombies are already gone.
        if int(fields[1]) == parent and fields[0] != "Z":
            children.add(int(stat.parent.name))
    return children


def wait_until_live(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        try:
            live = requests.get(f"{url}/api/v1/health/live", timeout=1, headers={"Connection": "close"})
            if live.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not live after {timeout}s")


def start_gunicorn(env: dict, tmp_path: Path, workers: int = 1, extra_args: tuple = ()) -> ServerProcess:
    port = free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    full_env = {**os.environ, **env, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", *extra_args, "wsgi:app"],
            cwd=ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, port, log_path, full_env)
    try:
        wait_until_live(server.url, process)
    except Exception:
        server.stop(timeout=5)
        raise RuntimeError(f"gunicorn did not start:\n{server.log()[-3000:]}") from None
    return server


def start_jobs_worker(env: dict, log_path: Path, append: bool = False) -> subprocess.Popen:
    """`python -m dorami_api.jobs` as a real process, its output in `log_path` (stop it by pid)."""
    with open(log_path, "ab" if append else "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "dorami_api.jobs"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
