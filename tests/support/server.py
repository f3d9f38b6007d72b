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

    def stop(self, timeout: float = 35) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode


def wait_until_live(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        try:
            if requests.get(f"{url}/api/v1/health/live", timeout=1).status_code == 200:
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
