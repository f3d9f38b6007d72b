"""Benchmark runner: starts the servers, prepares data, runs the Node load generator and wrk, and
writes one JSON line per run under bench/results/<run-id>/, then a summary with medians and ratios
to the references (bench/results/latest.json) and the table in bench/README.md.

    .venv/bin/python bench/run.py all              # everything, about 30 minutes on 2 cores
    .venv/bin/python bench/run.py fanout           # one scenario: fanout saturation flashsale rest capacity auction
    .venv/bin/python bench/run.py all --quick      # smoke sizes (a few minutes)
    .venv/bin/python bench/run.py report           # rebuild latest.json and the README table

Targets: `service` (gunicorn -c gunicorn.conf.py wsgi:app, WEB_CONCURRENCY workers, Redis queue,
a fresh PostgreSQL database migrated with `flask db upgrade`), `flask-ref` (bench/reference/
flask_ref.py, the same worker class and queue) and `node-ref` (bench/reference/node_ref.mjs).
Every server is started fresh for each scenario and stopped by its pid afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg2
import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(ROOT))

from tests.support.services import claim_redis_database, release_redis_database  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
ADMIN_EMAIL = "bench-admin@bench.test"
TARGETS = ("service", "flask-ref", "node-ref")
SCENARIOS = ("rest", "fanout", "saturation", "flashsale", "capacity", "hotrow", "auction")


def log(*parts) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}]", *parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raise_nofile() -> None:
    """In every child (servers and generators): as many descriptors as the kernel allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (65536, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(limit, soft), max(limit, hard)))
            return
        except (ValueError, OSError):
            continue


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def pin(cmd: list[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *cmd] if cpus and shutil.which("taskset") else cmd


# ---- servers ------------------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, cmd: list[str], env: dict, cwd: Path, port: int, log_path: Path, health: str):
        self.name, self.port, self.log_path = name, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        log(f"start {name} on :{port}")
        self.log_offset = log_path.stat().st_size if log_path.exists() else 0
        self.log_file = open(log_path, "ab")  # noqa: SIM115 - open for the life of the server
        self.process = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=raise_nofile,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.process.returncode}; see {log_path}")
            try:
                if requests.get(self.url + health, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"{name} not live after 60 s; see {log_path}")
        time.sleep(1.0)  # every worker booted, not only the first to answer

    @property
    def pid(self) -> int:
        return self.process.pid

    def tree(self) -> list[int]:
        """This server's pid and its descendants (gunicorn master and workers)."""
        pids, frontier = [self.pid], [self.pid]
        while frontier:
            parent = frontier.pop()
            try:
                children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            except OSError:
                continue
            pids.extend(map(int, children))
            frontier.extend(map(int, children))
        return pids

    def spread(self) -> dict[str, int]:
        """Established client connections held by each worker (pid -> count; the master and a
        single-process server count as their own pid): how evenly the kernel and the workers
        shared the sockets and keep-alive connections."""
        return connections_per_process(self.tree()[1:] or [self.pid], self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                tree = self.tree()
            except OSError:
                tree = [self.pid]
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in tree:  # only the processes this runner started
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log_file.close()

    def log_errors(self) -> dict:
        """What went wrong on the server side while it ran (its log since this start)."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            text = f.read().decode(errors="replace")
        return {
            "tracebacks": text.count("Traceback (most recent call last)"),
            "pg_too_many_clients": text.count("too many clients already"),
            "error_lines": sum(1 for line in text.splitlines() if " ERROR " in line or "[ERROR]" in line),
            "first_error": next((line for line in text.splitlines() if "Error:" in line or "Error " in line), None),
        }


def connections_per_process(pids: list[int], port: int) -> dict[str, int]:
    """pid -> established TCP connections on local `port` that the process holds open."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    established.add(fields[9])  # the socket's inode
    spread = {}
    for pid in pids:
        held = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    held += link.startswith("socket:[") and link[8:-1] in established
        spread[str(pid)] = held
    return spread


def requests_per_worker(server: Server) -> dict[str, int]:
    """pid -> HTTP requests served since the worker started (the service's /metrics; {} elsewhere)."""
    if server.name != "service":
        return {}
    try:
        text = requests.get(server.url + "/metrics", timeout=10).text
    except requests.RequestException:
        return {}
    found = re.findall(r'^dorami_worker_http_requests\{pid="(\d+)"\} ([\d.e+]+)$', text, re.M)
    return {pid: int(float(value)) for pid, value in found}


@contextlib.contextmanager
def watch_spread(server: Server, row: dict, every: float = 1.0):
    """While the block runs, sample the connections per worker; the busiest sample (most
    connections in all) goes into row["worker_connections"], with its share on the busiest worker."""
    best: dict[str, int] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal best
        while not stop.wait(every):
            now = server.spread()
            if sum(now.values()) > sum(best.values()):
                best = now

    before = requests_per_worker(server)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join(timeout=5)
        total = sum(best.values())
        row["worker_connections"] = best
        row["busiest_worker_share"] = round(max(best.values()) / total, 3) if total else None
        after = requests_per_worker(server)
        if after:  # the scrape itself is one request on one worker
            row["worker_requests"] = {pid: n - before.get(pid, 0) for pid, n in after.items()}


def _admin_sql(*statements: tuple) -> None:
    """Run statements on the maintenance database, outside a transaction (CREATE/DROP DATABASE)."""
    conn = psycopg2.connect(PG_ADMIN, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(*statement)
    finally:
        conn.close()


def fresh_database(name: str) -> str:
    """An empty database `name` (dropped first if a run left it); returns its URL."""
    _admin_sql((f'DROP DATABASE IF EXISTS "{name}"',), (f'CREATE DATABASE "{name}"',))
    return urlunparse(urlparse(PG_ADMIN)._replace(path=f"/{name}"))


def drop_database(name: str) -> None:
    """Drop `name`, ending the sessions still connected to it (a server stopped mid-request)."""
    _admin_sql(
        ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)),
        (f'DROP DATABASE IF EXISTS "{name}"',),
    )


class Session:
    """One benchmark session: its database, Redis index, channel names, results directory."""

    def __init__(self, args):
        self.args = args
        self.run_id = args.run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.dir = RESULTS / self.run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.gettempdir()) / f"dorami-bench-{self.run_id}"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.redis_url = claim_redis_database()
        self.database_url: str | None = None
        self.setup: dict | None = None
        self.accounts_path = self.tmp / "accounts.json"
        # The service's code: this checkout by default; --service-dir measures another one.
        self.service_dir = Path(args.service_dir).resolve() if args.service_dir else ROOT
        self.workers = str(args.workers or os.cpu_count() or 2)
        previous = self.dir / "meta.json"
        self.earlier_meta = json.loads(previous.read_text()) if previous.exists() else None
        self.meta = {
            "run_id": self.run_id,
            "started": datetime.now(UTC).isoformat(),
            "host_cpus": os.cpu_count(),
            "web_concurrency": int(self.workers),
            "git_commit": subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=self.service_dir, capture_output=True, text=True
            ).stdout.strip(),
            "quick": args.quick,
            "pin": {"server": args.pin_server, "generator": args.pin_generator},
            "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
            "loadavg_at_start": loadavg(),
        }

    # -- the service's data ------------------------------------------------------------------

    def create_database(self) -> None:
        name = f"dorami_bench_{self.run_id.lower()}"
        self.database_url = fresh_database(name)
        log(f"database {name}; migrating")
        subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=self.service_dir,
            env={**os.environ, **self.service_env(ratelimit=False)},
            check=True,
            capture_output=True,
        )

    def drop_database(self) -> None:
        if not self.database_url:
            return
        drop_database(urlparse(self.database_url).path.lstrip("/"))

    def service_env(self, ratelimit: bool) -> dict:
        return {
            # dev-login (the only way to log 2,000 accounts in without Kakao) is refused in
            # production, so the service runs as development with production's log level.
            "APP_ENV": "development",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_LOG_LEVEL": "warning",
            "DATABASE_URL": self.database_url or "",
            "REDIS_URL": self.redis_url,
            "SOCKETIO_CHANNEL": f"dorami-bench-{self.run_id}",
            "JWT_SECRET": "bench-secret-" + "x" * 40,
            "JWT_EXPIRATION": "6h",
            "ENABLE_DEV_AUTH": "true",
            "ADMIN_EMAILS": ADMIN_EMAIL,
            "RATELIMIT_ENABLED": "true" if ratelimit else "false",
            "WEB_CONCURRENCY": self.workers,
            "MAX_WORKER_MEMORY_MB": "4096",
        }

    # -- servers -----------------------------------------------------------------------------

    def start(self, target: str, ratelimit: bool = True, scenario: str = "setup") -> Server:
        server = self._start(target, ratelimit)
        stop = server.stop

        def stop_and_record() -> None:
            stop()
            self.record("serverlog", {"scenario": scenario, "target": target, **server.log_errors()})

        server.stop = stop_and_record
        return server

    @contextlib.contextmanager
    def serving(self, target: str, scenario: str, ratelimit: bool = True, part: str = ""):
        """A fresh server for one scenario (or one `part` of it) on one target. A failure inside is
        recorded as not run and the session goes on; the server is stopped either way."""
        server = self.start(target, ratelimit=ratelimit, scenario=f"{scenario}-{part}" if part else scenario)
        try:
            yield server
        except Exception as error:  # noqa: BLE001 - recorded, the session goes on
            self.not_run(scenario, target, f"{part}: {str(error)[:400]}" if part else str(error)[:500])
        finally:
            server.stop()

    def _start(self, target: str, ratelimit: bool) -> Server:
        port = free_port()
        log_path = self.tmp / f"{target}.log"
        cpus = self.args.pin_server
        if target == "service":
            cmd = pin([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cpus)
            env = {**self.service_env(ratelimit), "PORT": str(port)}
            return Server(target, cmd, env, self.service_dir, port, log_path, "/api/v1/health/live")
        if target == "flask-ref":
            cmd = pin(
                [
                    str(VENV_BIN / "gunicorn"),
                    "-k",
                    "geventwebsocket.gunicorn.workers.GeventWebSocketWorker",
                    "-w",
                    self.workers,
                    "--worker-connections",
                    "10000",
                    "-b",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                    "flask_ref:app",
                ],
                cpus,
            )
            env = {
                "REF_REDIS_URL": self.redis_url,
                "REF_CHANNEL": f"bench-ref-{self.run_id}",
                # For the contract floors: the service's JWT secret (its tokens, and the session
                # cookie's key, as the service's SECRET_KEY is its JWT secret) and its database.
                "REF_JWT_SECRET": self.service_env(ratelimit=False)["JWT_SECRET"],
                "REF_DATABASE_URL": self.database_url or "",
                # The contract read's metrics, in prometheus_client's multiprocess mode as the
                # service's (each worker writes its own files): a fresh directory per server.
                "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(dir=self.tmp, prefix="flask-ref-metrics-"),
            }
            return Server(target, cmd, env, BENCH / "reference", port, log_path, "/api/v1/health/live")
        if target == "node-ref":
            cmd = pin(["node", "reference/node_ref.mjs", "--port", str(port)], cpus)
            return Server(target, cmd, {}, BENCH, port, log_path, "/")
        raise ValueError(target)

    # -- generator ---------------------------------------------------------------------------

    def node(self, script: str, *args, timeout: float = 900) -> dict:
        """Run a generator script; its last JSON line."""
        return self.node_lines(script, *args, timeout=timeout)[-1]

    def node_lines(self, script: str, *args, timeout: float = 900) -> list[dict]:
        cmd = pin(["node", f"loadgen/{script}", *map(str, args)], self.args.pin_generator)
        log("  $", " ".join(cmd[-len(args) - 2 :]))
        done = subprocess.run(cmd, cwd=BENCH, capture_output=True, text=True, timeout=timeout, preexec_fn=raise_nofile)
        if done.returncode != 0:
            raise RuntimeError(f"{script} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    def record(self, scenario: str, row: dict) -> dict:
        row = {"run_id": self.run_id, "session": self.meta["started"], "loadavg_1m": loadavg(), **row}
        with open(self.dir / f"{scenario}.jsonl", "a") as out:
            out.write(json.dumps(row) + "\n")
        return row

    def not_run(self, scenario: str, target: str, why: str) -> None:
        log(f"  not run: {scenario} on {target}: {why}")
        self.record(scenario, {"scenario": scenario, "target": target, "not_run": why})

    def ensure_setup(self) -> None:
        """A fresh database, then the admin, a live stream and the accounts (limiter off: this
        logs 2,000 accounts in from one address, which would otherwise measure the limiter).
        Through the API (dev-login, streams, users); if those routes are not there yet, through the
        service's own session code (bench/seed.py) so that the socket scenarios can still run."""
        if self.setup:
            return
        self.create_database()
        largest = max(flash_sizes(self)) if self.args.flash_sizes else 0
        accounts = max(self.args.accounts or (600 if self.args.quick else 2000), largest)
        server = self.start("service", ratelimit=False)
        try:
            try:
                row = self.node("setup.mjs", "--url", server.url, "--accounts", accounts, "--out", self.accounts_path)
            except RuntimeError as error:
                log(f"  API set-up failed ({str(error)[:200]}); seeding through the service's session code")
                self.meta["api_setup_error"] = str(error)[:500]
                done = subprocess.run(
                    [
                        sys.executable,
                        str(BENCH / "seed.py"),
                        "--accounts",
                        str(accounts),
                        "--out",
                        str(self.accounts_path),
                    ],
                    cwd=self.service_dir,
                    env={**os.environ, **self.service_env(ratelimit=False), "PYTHONPATH": str(self.service_dir)},
                    capture_output=True,
                    text=True,
                    timeout=900,
                    check=True,
                )
                row = json.loads(done.stdout.strip().splitlines()[-1])
                try:  # orders need complete profiles: through the users routes when they exist
                    row["profiles"] = self.node(
                        "setup.mjs", "--url", server.url, "--profiles-only", "--in", self.accounts_path
                    )
                except RuntimeError as profile_error:
                    row["profiles_error"] = str(profile_error)[:300]
            log(f"  setup: {row}")
            self.setup = json.loads(self.accounts_path.read_text())
            self.meta["setup"] = row
            # Ten products on the stream for the product-list read.
            try:
                for i in range(10):
                    self.node(
                        "setup.mjs",
                        *("--url", server.url, "--product", "--in", self.accounts_path),
                        *("--stream-id", self.setup["stream"]["id"], "--stock", 1000, "--name", f"Catalogue item {i}"),
                    )
            except RuntimeError as error:
                self.setup["products_error"] = str(error)[:300]
                log(f"  products: {str(error)[:300]}")
        finally:
            server.stop()


# ---- scenarios ----------------------------------------------------------------------------------


@contextlib.contextmanager
def profiled(s: Session, server: Server, target: str, name: str, seconds: float):
    """With --profile, py-spy samples the workers of the service (and of flask-ref, the same stack,
    for a profile to set beside it) during the measured window and writes collapsed stacks to
    results/<run>/profile-<name>.txt.gz, profile-flask-ref-<name>.txt.gz for flask-ref
    (bench/profile_top.py summarises them)."""
    spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not s.args.profile or target not in ("service", "flask-ref") or not Path(spy).exists():
        yield
        return
    out = s.dir / (f"profile-{name}.txt" if target == "service" else f"profile-{target}-{name}.txt")
    cmd = [spy, "record", "--pid", str(server.pid), "--subprocesses", "--nonblocking", "--format", "raw"]
    cmd += ["--rate", "200", "--duration", str(int(seconds)), "--output", str(out)]
    spy_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy_proc.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        try:
            spy_proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy_proc.kill()
        if out.exists():  # megabytes of text each: kept gzipped (bench/profile_top.py reads them)
            with open(out, "rb") as raw, gzip.open(f"{out}.gz", "wb") as packed:
                shutil.copyfileobj(raw, packed)
            out.unlink()


def fanout_sizes(s: Session) -> list[int]:
    return [200, 1000] if s.args.quick else [200, 1000, 2000]


def run_fanout(s: Session, server: Server, target: str, viewers: int, duration: float, *extra_args) -> list[dict]:
    """One connected room, one or more measured steps (--rates a,b or --search): one row each."""
    room = s.setup["stream"]["streamKey"] if target == "service" else "bench-room"
    # flask-ref-floor: flask-ref's chat under the contract (its /chat-floor), the service's tokens.
    tokens = ["--tokens", s.accounts_path] if target in ("service", "flask-ref-floor") else []
    if target == "flask-ref-floor":
        extra_args = ("--namespace", "/chat-floor", *extra_args)
    spread: dict = {}
    with (
        profiled(s, server, target, f"fanout-{viewers}-{'-'.join(map(str, extra_args))}", 900),
        watch_spread(server, spread),
    ):
        rows = s.node_lines(
            "fanout.mjs",
            *("--url", server.url, "--room", room, "--viewers", viewers, "--duration", duration),
            *("--server-pid", server.pid, "--label", target, *tokens, *extra_args),
            timeout=1200,
        )
    return [{**row, **spread, "target": target} for row in rows]


def scenario_fanout(s: Session) -> None:
    """50 msg/s into rooms of 200, 1,000 and 2,000 viewers. The viewers of a size connect once;
    the repeats are consecutive measured windows on those connections (connecting 2,000
    authenticated viewers three times would cost more than the measurements)."""
    repeats = 1 if s.args.quick else s.args.repeats
    duration = 5 if s.args.quick else 10
    rates = ",".join(["50"] * repeats)
    for target in s.targets():
        with s.serving(target, "fanout") as server:
            for viewers in fanout_sizes(s):
                # On flask-ref, its chat under the contract too, on the same server after the bare one
                # (it signs in with the service's accounts: only when the service's setup made them).
                floor = target == "flask-ref" and s.accounts_path.exists()
                for label in (target, "flask-ref-floor") if floor else (target,):
                    for row in run_fanout(s, server, label, viewers, duration, "--rates", rates):
                        s.record("fanout", {**row, "repeat": row["step"]})
                        log(
                            f"  fanout {label} {viewers}x50: delivered {row['delivery_ratio']}"
                            f" p99 {row['latency_ms']['p99_ms']} ms, {row['connections_failed']} not connected"
                        )
                    time.sleep(2)


def scenario_saturation(s: Session) -> None:
    """Per target, one room of connected viewers and a bounded search (fanout.mjs --search):
    double from 50 msg/s while >= 99 % is delivered with p99 <= 1 s, then bisect."""
    viewers = 200 if s.args.quick else s.args.saturation_viewers
    duration = 5 if s.args.quick else 8
    search = (
        "--rate",
        50,
        "--search",
        "--max-rate",
        int(s.args.saturation_max),
        "--max-steps",
        s.args.saturation_steps,
    )
    for target in s.targets():
        with s.serving(target, "saturation") as server:
            for row in run_fanout(s, server, target, viewers, duration, *search):
                s.record("saturation", row)
                log(
                    f"  saturation {target} {viewers}x{row['rate_msgs_per_s']:g}: {'pass' if row['passed'] else 'FAIL'}"
                    f" {row['deliveries_per_s']}/s p99 {row['latency_ms']['p99_ms']}"
                )


def flash_product(s: Session, server: Server, target: str, label: str, floor: bool = False) -> str:
    """A fresh product with 100 units on the live stream: through the admin API on the service,
    through the references' own stand-in route on them (`floor`: also its stock row in
    PostgreSQL, for flask-ref's sale under the contract)."""
    if target == "service":
        product = s.node(
            "setup.mjs",
            *("--url", server.url, "--product", "--in", s.accounts_path),
            *("--stream-id", s.setup["stream"]["id"], "--stock", 100, "--name", label),
        )
        return product["id"]
    body = {"stock": 100, "room": s.setup["stream"]["streamKey"], "floor": floor}
    answer = requests.post(f"{server.url}/ref/flash", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]["id"]


def flash_sizes(s: Session) -> list[int]:
    """--flash-sizes 500,2000,5000 (each needs that many accounts: --accounts)."""
    if s.args.flash_sizes:
        return [int(n) for n in s.args.flash_sizes.split(",")]
    return [500] if s.args.quick else [500, 2000]


def scenario_flashsale(s: Session) -> None:
    repeats = 1 if s.args.quick else s.args.repeats
    sizes = flash_sizes(s)
    if s.setup.get("products_error"):
        s.not_run("flashsale", "service", f"no products: {s.setup['products_error']}")
        return
    for target in s.targets():
        with s.serving(target, "flashsale") as server:
            for buyers in sizes:
                if buyers > len(s.setup["accounts"]):
                    s.not_run("flashsale", target, f"{buyers} buyers but only {len(s.setup['accounts'])} accounts")
                    continue
                # 2,000 viewers take minutes to connect on 2 shared cores: fewer repeats above 500.
                for r in range(repeats if buyers <= 500 else max(1, repeats - 1) if buyers <= 2000 else 1):
                    flash_repeat(s, server, target, buyers, r)
                    if target == "flask-ref":
                        # The same server's sale under the contract (bench/reference/flask_ref.py
                        # `/ref/orders-floor`), each repeat next to the bare one.
                        flash_repeat(s, server, "flask-ref-floor", buyers, r, "/ref/orders-floor")


def flash_repeat(s: Session, server: Server, target: str, buyers: int, r: int, order_path: str | None = None) -> None:
    product = flash_product(s, server, target, f"Flash {buyers}-{r}", floor=order_path is not None)
    spread: dict = {}
    with profiled(s, server, target, f"flashsale-{buyers}-{r}", 600), watch_spread(server, spread):
        row = s.node(
            "flashsale.mjs",
            *("--url", server.url, "--accounts", s.accounts_path, "--product", product),
            *("--room", s.setup["stream"]["streamKey"], "--buyers", buyers, "--server-pid", server.pid),
            *(("--order-path", order_path) if order_path else ()),
            timeout=600,
        )
    s.record("flashsale", {**row, **spread, "target": target, "repeat": r})
    log(
        f"  flashsale {target} {buyers}: sold {row['units_sold']} 5xx {row['five_xx']}"
        f" p99 {row['order_latency_ms']['p99_ms']} ms,"
        f" soldout seen {row['soldout_seen_by']}/{row['viewers_connected']},"
        f" connections per worker {spread['worker_connections']}"
    )
    time.sleep(3)


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text: str) -> dict:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
        return round(float(number) * WRK_UNITS[unit], 3)

    out: dict = {}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        out["requests_per_s"] = round(float(m.group(1)))
    if m := re.search(r"(\d+) requests in ([\d.]+\w+)", text):
        out["requests"] = int(m.group(1))
    latency = {}
    for q in ("50", "75", "90", "99"):
        if m := re.search(rf"^\s+{q}%\s+([\d.]+\w+)", text, re.M):
            latency[f"p{q}_ms"] = ms(m.group(1))
    if m := re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+\w+)", text):
        latency["max_ms"] = ms(m.group(1))
    out["latency_ms"] = latency
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True)) if m else {}
    )
    return out


def tree_usage(pid: int) -> tuple[float, float]:
    """(cpu seconds, rss MB) of a process and its descendants."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            fields = text[text.rfind(")") + 2 :].split()
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    cpu = rss = 0.0
    stack = [pid]
    while stack:
        p = stack.pop()
        if p in stats:
            cpu += (int(stats[p][11]) + int(stats[p][12])) / os.sysconf("SC_CLK_TCK")
            rss += int(stats[p][21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        stack.extend(children.get(p, []))
    return cpu, rss


def wrk(s: Session, server: Server, url: str, connections: int, seconds: int, headers: dict | None = None) -> dict:
    # --timeout 10s: a slower answer counts as a timeout (wrk leaves it out of the latencies and
    # reports it under socket errors, which the table adds to the errors).
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    cmd = pin(cmd, s.args.pin_generator)
    cpu0, _ = tree_usage(server.pid)
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, preexec_fn=raise_nofile)
    cpu1, rss = tree_usage(server.pid)
    row = parse_wrk(done.stdout)
    row["server_cpu_pct"] = round((cpu1 - cpu0) / (time.monotonic() - t0) * 100, 1)
    row["server_rss_mb_end"] = round(rss, 1)
    return row


def settle(server: Server, bound: float = 60) -> float:
    """Wait until the server answers its liveness probe promptly again: requests wrk gave up on
    are still being worked on, and the next run must not inherit them. Seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < bound:
        try:
            t = time.monotonic()
            requests.get(server.url + "/api/v1/health/live", timeout=5)
            if time.monotonic() - t < 0.25:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return round(time.monotonic() - started, 1)


def scenario_rest(s: Session) -> None:
    if not shutil.which("wrk"):
        s.not_run("rest", "all", "wrk not installed (apt-get install -y wrk)")
        return
    levels = [16, 64] if s.args.quick else [16, 64, 256]
    seconds = 3 if s.args.quick else 5
    repeats = 1 if s.args.quick else s.args.repeats
    for target in [t for t in s.targets() if t != "node-ref"]:
        headers: dict[str, dict] = {}
        if target == "service":
            stream = s.setup["stream"]
            endpoints = {
                "product_list": f"/api/v1/products?streamId={stream['id']}",
                "stream_status": f"/api/v1/streaming/streams/key/{stream['streamKey']}/status",
                # A signed-in buyer's own cart: the token, the session, the user's holds.
                "cart_signed_in": "/api/v1/cart",
                # The same list read by a browser, which keeps the cookies of its first read: its
                # csrf-token and session cookies are sent back, so the token is checked, not
                # minted and signed again on every read (wrk keeps no cookies: product_list).
                "product_list_browser": f"/api/v1/products?streamId={stream['id']}",
                # The service's own floor: its request hooks (id, access line, metrics, security
                # headers) around a view that reads nothing, against flask-ref's same route.
                "health_live": "/api/v1/health/live",
            }
            headers["cart_signed_in"] = {"Authorization": f"Bearer {s.setup['accounts'][0]['token']}"}
        else:
            endpoints = {
                "product_list": "/ref/products",
                "health_live": "/api/v1/health/live",
                # The floors under the contract (bench/reference/flask_ref.py): the same page with
                # the CSRF cookie a GET gets, for a client without cookies and for a browser that
                # sends them back; a signed-in read at its least (JWT, one Redis MGET, one
                # PostgreSQL read of the user's cart lines) with the bench account's token.
                "product_list_csrf": "/ref/products-csrf",
                "product_list_csrf_browser": "/ref/products-csrf",
                # The same, with every other duty the contract puts on a public read (request id,
                # HTTP metrics, access line, security headers, CORS), inline and at their least.
                "product_list_contract": "/ref/products-contract",
                "signed_in_floor": "/ref/signed-in",
            }
            if s.setup:
                headers["signed_in_floor"] = {"Authorization": f"Bearer {s.setup['accounts'][0]['token']}"}
            else:
                s.not_run("rest", target, "signed_in_floor: no bench account (the service's setup did not run)")
                del endpoints["signed_in_floor"]
        for name, path in endpoints.items():
            # A fresh server per endpoint; limiter off: one address at thousands of requests per
            # second would measure the limiter.
            with s.serving(target, "rest", ratelimit=False, part=name) as server:
                url = server.url + path
                if name.endswith("_browser"):
                    first = requests.get(url, timeout=30)
                    cookies = "; ".join(f"{k}={v}" for k, v in first.cookies.items())
                    headers[name] = {"Cookie": cookies}
                probe = requests.get(url, headers=headers.get(name), timeout=30)
                if probe.status_code != 200:
                    s.not_run("rest", target, f"{name}: GET {url} -> {probe.status_code}")
                    continue
                for c in levels:
                    for r in range(repeats):
                        spread: dict = {}
                        with profiled(s, server, target, f"rest-{name}-c{c}-{r}", 600), watch_spread(server, spread):
                            row = wrk(s, server, url, c, seconds, headers.get(name))
                        row.update(spread)
                        row["settle_s"] = settle(server)
                        s.record(
                            "rest",
                            {
                                "scenario": "rest",
                                "target": target,
                                "endpoint": name,
                                "connections": c,
                                "repeat": r,
                                "ratelimit": False,
                                **row,
                            },
                        )
                        log(
                            f"  rest {target} {name} c={c}: {row.get('requests_per_s')} req/s"
                            f" p99 {row['latency_ms'].get('p99_ms')} ms non2xx {row['non_2xx']}"
                            f" socket errors {row['socket_errors']} settled in {row['settle_s']} s"
                        )


def scenario_capacity(s: Session) -> None:
    bound = 2000 if s.args.quick else s.args.capacity_max
    hold = 5 if s.args.quick else s.args.capacity_hold
    for target in s.targets():
        with s.serving(target, "capacity") as server:
            room = s.setup["stream"]["streamKey"] if target == "service" else "bench-room"
            extra = ["--tokens", s.accounts_path] if target == "service" else []
            spread: dict = {}
            with watch_spread(server, spread):
                row = s.node(
                    "capacity.mjs",
                    *("--url", server.url, "--room", room, "--max", bound, "--step", 1000, "--hold", hold),
                    *("--server-pid", server.pid, "--label", target, *extra),
                    timeout=900,
                )
            s.record("capacity", {**row, **spread, "target": target})
            log(
                f"  capacity {target}: {row['connections_made']} connected, {row['rss_mb_per_1000']} MB/1000,"
                f" p99 {row['connect_ms']['p99_ms']} ms"
            )


def scenario_hotrow(s: Session) -> None:
    """PostgreSQL's own ceiling for one product: pgbench selling from one hot row (lock, take a
    unit, insert an order row, commit; bench/pgbench/hot_row.sql) with 16 clients, on a database
    made for it. Not a target: the rate the service's sales per second are compared with."""
    if not shutil.which("pgbench"):
        s.not_run("hotrow", "postgresql", "pgbench not installed")
        return
    name = f"dorami_bench_hotrow_{s.run_id.lower()}"
    url = fresh_database(name)
    try:
        conn = psycopg2.connect(url, connect_timeout=5)
        with conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE bench_hot_product (id int PRIMARY KEY, stock bigint NOT NULL, version int NOT NULL)"
            )
            cur.execute("INSERT INTO bench_hot_product VALUES (1, 1000000000, 0)")
            cur.execute(
                "CREATE TABLE bench_hot_order (id bigserial PRIMARY KEY, product_id int NOT NULL,"
                " quantity int NOT NULL, created_at timestamptz NOT NULL)"
            )
        conn.close()
        clients = [1, 16]  # 64 would exceed max_connections of a PostgreSQL shared with other sessions
        for c in clients:
            cmd = ["pgbench", "-n", "-f", str(BENCH / "pgbench" / "hot_row.sql"), "-c", str(c), "-j", "2"]
            cmd += ["-T", "5" if s.args.quick else "10", url]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            tps = re.search(r"tps = ([\d.]+)", done.stdout)
            latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
            row = s.record(
                "hotrow",
                {
                    "scenario": "hotrow",
                    "target": "postgresql",
                    "clients": c,
                    "sales_per_s": round(float(tps.group(1))) if tps else None,
                    "latency_avg_ms": float(latency.group(1)) if latency else None,
                    "error": None if done.returncode == 0 else done.stderr.strip()[-300:],
                },
            )
            log(f"  hotrow {c} clients: {row['sales_per_s']} sales/s")
    finally:
        drop_database(name)


def scenario_auction(s: Session) -> None:
    """Live auction: 1,000 viewers in the room, 200 of them bidding for 10 s (loadgen/auction.mjs):
    accepted bids/s, bid → auction:updated at every viewer, endsAt → auction:ended at every viewer.
    The service runs a real auction on a product of the stream; the references a counter with the
    same broadcasts (POST /ref/auction)."""
    viewers, bidders, seconds = (300, 100, 5) if s.args.quick else (1000, 200, 10)
    room = s.setup["stream"]["streamKey"]
    for target in s.targets():
        with s.serving(target, "auction") as server:
            if target == "service":
                product = s.node(
                    "setup.mjs",
                    *("--url", server.url, "--product", "--in", s.accounts_path),
                    *("--stream-id", s.setup["stream"]["id"], "--stock", 10, "--name", "Auction lot"),
                )
                body = {"productId": product["id"], "startingPrice": "10.00", "durationSeconds": seconds + 2}
                answer = requests.post(
                    f"{server.url}/api/v1/auctions",
                    json={**body, "antiSnipeSeconds": 1},
                    headers={"Authorization": f"Bearer {s.setup['admin']['token']}"},
                    timeout=10,
                )
            else:
                body = {"room": room, "startingPrice": "10.00", "increment": "1.00", "durationSeconds": seconds + 2}
                answer = requests.post(f"{server.url}/ref/auction", json=body, timeout=10)
            answer.raise_for_status()
            with profiled(s, server, target, "auction", 900):
                row = s.node(
                    "auction.mjs",
                    *("--url", server.url, "--accounts", s.accounts_path, "--room", room),
                    *("--auction", answer.json()["data"]["id"], "--admin-token", s.setup["admin"]["token"]),
                    *("--viewers", viewers, "--bidders", bidders, "--seconds", seconds, "--server-pid", server.pid),
                    timeout=900,
                )
            s.record("auction", {**row, "target": target})
            log(
                f"  auction {target}: {row['bids_accepted']} accepted ({row['accepted_bids_per_s']}/s),"
                f" bid->update p50 {row['bid_to_update_ms']['p50_ms']} p99 {row['bid_to_update_ms']['p99_ms']} ms,"
                f" end->ended p99 {row['end_to_ended_ms']['p99_ms']} ms, ended seen by {row['ended_seen_by']}"
            )


RUNNERS = {
    "rest": scenario_rest,
    "fanout": scenario_fanout,
    "saturation": scenario_saturation,
    "flashsale": scenario_flashsale,
    "capacity": scenario_capacity,
    "hotrow": scenario_hotrow,
    "auction": scenario_auction,
}


def _targets(self) -> list[str]:
    return list(self.args.targets.split(",")) if self.args.targets else list(TARGETS)


Session.targets = _targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("all", "report", *SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="smoke sizes")
    parser.add_argument("--targets", help="comma list of service,flask-ref,node-ref (default all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for the service and flask-ref (default: CPUs)")
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--flash-sizes", help="flash-sale buyer counts, e.g. 500,2000,5000 (default 500,2000)")
    parser.add_argument("--saturation-viewers", type=int, default=1000)
    parser.add_argument("--saturation-steps", type=int, default=6)
    parser.add_argument("--saturation-max", type=float, default=1600)
    parser.add_argument("--capacity-max", type=int, default=10000)
    parser.add_argument("--capacity-hold", type=int, default=30, help="seconds idle at the top (pingInterval is 25 s)")
    parser.add_argument("--pin-server", help="taskset CPU list for the servers, e.g. 0")
    parser.add_argument("--pin-generator", help="taskset CPU list for the generators, e.g. 1")
    parser.add_argument("--run-id")
    parser.add_argument("--keep", action="store_true", help="keep the database, Redis index and accounts")
    parser.add_argument("--service-dir", help="the service checkout to measure (default: this one)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the service and flask-ref (fan-out, flash sale, REST, auction)"
    )
    args = parser.parse_args()

    from report import write_report  # bench/report.py

    if args.what == "report":
        write_report(RESULTS, args.run_id)
        return

    raise_nofile()
    session = Session(args)
    log(f"run {session.run_id}: results in {session.dir}")
    try:
        wanted = SCENARIOS if args.what == "all" else (args.what,)
        if "service" in session.targets():
            try:
                session.ensure_setup()
            except Exception as error:  # noqa: BLE001 - the references still run
                log(f"service setup failed: {error}")
                session.meta["service_setup_error"] = str(error)[:800]
                args.targets = ",".join(t for t in session.targets() if t != "service")
                for scenario in wanted:
                    session.not_run(scenario, "service", f"setup failed: {str(error)[:300]}")
        for scenario in wanted:
            log(f"== {scenario}")
            RUNNERS[scenario](session)
    finally:
        session.meta["finished"] = datetime.now(UTC).isoformat()
        session.meta["loadavg_at_end"] = loadavg()
        meta = session.meta
        if session.earlier_meta:  # a scenario re-run into an existing run: keep the first meta
            meta = {**session.earlier_meta}
            meta["reruns"] = [*meta.get("reruns", []), {**session.meta, "scenarios": args.what}]
        (session.dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        if args.keep:
            env_file = session.tmp / "service.env"
            env_file.write_text("".join(f"export {k}='{v}'\n" for k, v in session.service_env(True).items()))
            log(f"kept the database and Redis index for experiments: . {env_file} (drop and release by hand)")
        else:
            release_redis_database(session.redis_url)
            session.drop_database()
    write_report(RESULTS, session.run_id)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    main()
