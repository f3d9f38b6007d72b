"""Processes the realtime auction tests start: the jobs worker, and the JavaScript bidders."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest

from tests.support.js import node_with_client
from tests.support.server import start_jobs_worker


class JobsWorker:
    """`python -m dorami_api.jobs` as a real process (stopped by pid at the end)."""

    def __init__(self, env: dict, log_path) -> None:
        self.log_path = log_path
        self.process = start_jobs_worker(env, log_path, append=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def jobs_worker(app_env, tmp_path):
    workers = []

    def start(**env) -> JobsWorker:
        worker = JobsWorker({**app_env, **env}, tmp_path / f"jobs-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="module")
def node():
    return node_with_client()


@pytest.fixture(autouse=True)
def broadcasts_drained():
    """After each test, wait (bounded) for the broadcast timers its bids started in this process
    (a coalesced auction:updated reads the auction when it fires): none may still be reading
    while the next test truncates the tables."""
    before = {thread.ident for thread in threading.enumerate()}
    yield
    deadline = time.monotonic() + 10
    for thread in threading.enumerate():
        if thread.ident not in before and thread.daemon:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
