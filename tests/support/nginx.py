"""nginx (Debian's package) in front of several single-worker instances, with sticky sessions,
as the documented multi-instance deployment: started by the test as a non-daemon child
process on a free loopback port and stopped by pid.

Stickiness: nginx open source has no `sticky cookie`, and `ip_hash` cannot tell loopback clients
apart, so the upstream is chosen by `hash` of a `dorami_route` cookie; a client without one is
routed by a fresh request id and handed that id as its cookie, so every later request of its
Engine.IO session (polling or the WebSocket upgrade) reaches the same instance.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.server import free_port

CONFIG = """
worker_processes 1;
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/client_body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;

  map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
  map $cookie_dorami_route $dorami_route {{ "" $request_id; default $cookie_dorami_route; }}

  upstream dorami {{
    hash $dorami_route consistent;
{servers}
  }}

  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://dorami;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_read_timeout 75s;
      add_header Set-Cookie "dorami_route=$dorami_route; Path=/; HttpOnly; SameSite=Lax" always;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light; scripts/ensure-tools.sh)")
    return found


@dataclass
class NginxProcess:
    process: subprocess.Popen
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def upstream_for(self, route: str) -> str:
        """Which instance (host:port) a client carrying this route cookie reaches."""
        response = requests.get(
            f"{self.url}/api/v1/health/live",
            headers={"Cookie": f"dorami_route={route}", "Connection": "close"},
            timeout=5,
        )
        return response.headers["X-Upstream"]

    def route_to(self, upstream_port: int, attempts: int = 64) -> str:
        """A route cookie value that nginx sends to the instance on `upstream_port`."""
        for index in range(attempts):
            route = f"route-{index}"
            if self.upstream_for(route).endswith(f":{upstream_port}"):
                return route
        raise AssertionError(f"no route reaches port {upstream_port} in {attempts} tries")

    def log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: let open connections finish
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_nginx(tmp_path: Path, upstream_ports: list[int], timeout: float = 15) -> NginxProcess:
    directory = tmp_path / f"nginx-{os.getpid()}-{free_port()}"
    directory.mkdir(parents=True)
    port = free_port()
    config = CONFIG.format(
        tmp=directory,
        port=port,
        user="user root;" if os.geteuid() == 0 else "",
        servers="\n".join(f"    server 127.0.0.1:{p};" for p in upstream_ports),
    )
    (directory / "nginx.conf").write_text(config)
    process = subprocess.Popen(
        [nginx_binary(), "-c", str(directory / "nginx.conf"), "-p", str(directory), "-e", str(directory / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    nginx = NginxProcess(process, port, directory)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{nginx.log()[-2000:]}")
        try:
            requests.get(f"{nginx.url}/api/v1/health/live", timeout=1, headers={"Connection": "close"})
            return nginx
        except requests.RequestException:
            time.sleep(0.1)
    nginx.stop()
    raise RuntimeError(f"nginx not answering after {timeout}s:\n{nginx.log()[-2000:]}")
