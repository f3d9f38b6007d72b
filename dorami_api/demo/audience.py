"""A simulated audience for a running service: N viewers sign in through the development
dev-login, complete their profiles, join a live stream's rooms on all three Socket.IO
namespaces, chat and buy for a bounded time, and count what they saw — what a frontend developer
needs to watch the realtime events flow.

It is load, so it is bounded (at most MAX_VIEWERS viewers for MAX_SECONDS) and aims only at a
service on this machine unless told otherwise: load must target what you own.

Every viewer joins before anyone speaks, and after the last message the run waits (up to
DRAIN_SECONDS) until each viewer has received every message the server acknowledged, so the
delivery figures are exact rather than a snapshot of messages still in flight.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import socketio

MAX_VIEWERS = 200
MAX_SECONDS = 600
DRAIN_SECONDS = 10.0
REQUEST_TIMEOUT = 10.0
# Well inside the per-user chat limit (20 messages per 10 s).
MESSAGE_INTERVAL = 1.0
# A viewer buys on its first turn, then on every BUY_EVERY-th.
BUY_EVERY = 5
LINES = ("Hi from the audience!", "Love this one", "Is it true to size?", "Ordered!", "Restock please", "So pretty")


class AudienceError(Exception):
    """The run cannot start: the target is refused, unreachable, or not ready for viewers."""


@dataclass
class Summary:
    viewers: int
    connected: int = 0
    messages_sent: int = 0
    messages_refused: int = 0
    messages_received: int = 0
    messages_expected: int = 0
    orders_made: int = 0
    orders_refused: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every viewer connected and every acknowledged message reached every viewer."""
        return self.connected == self.viewers and self.messages_received == self.messages_expected

    def lines(self) -> list[str]:
        refused = ", ".join(f"{code} {n}" for code, n in self.orders_refused.most_common()) or "none"
        events = ", ".join(f"{name} {n}" for name, n in sorted(self.events.items())) or "none"
        out = [
            f"viewers connected: {self.connected} of {self.viewers}",
            f"chat messages sent: {self.messages_sent} (refused by the server: {self.messages_refused})",
            f"chat messages received: {self.messages_received} of {self.messages_expected} expected "
            "(every sent message by every viewer)",
            f"orders made: {self.orders_made}; refused: {sum(self.orders_refused.values())} ({refused})",
            f"server events received: {events}",
        ]
        out += [f"failure: {failure}" for failure in self.failures[:20]]
        return out


def check_target(url: str, allow_remote: bool) -> str:
    """The base URL without a trailing slash; refuses a host that is not this machine unless
    `allow_remote`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AudienceError(f"{url!r} is not an http(s) URL")
    if not allow_remote and not _is_loopback(parts.hostname):
        raise AudienceError(
            f"{parts.hostname} is not this machine: the audience drives load only at a loopback "
            "address unless --allow-remote is given (aim it only at a service you own)"
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


class Catalogue:
    """The stream's products as the viewers last saw them: loaded over REST, then kept current by
    the live:product:* broadcasts every viewer receives."""

    def __init__(self, products: list[dict]) -> None:
        self._products = {p["id"]: p for p in products}
        self._lock = threading.Lock()

    def saw(self, event: str, data: dict) -> None:
        if not isinstance(data, dict) or "id" not in data:
            return
        with self._lock:
            if event == "live:product:deleted":
                self._products.pop(data["id"], None)
            elif data.get("version", 0) >= self._products.get(data["id"], {}).get("version", 0):
                self._products[data["id"]] = data

    def pick(self, rng: random.Random) -> dict | None:
        """An order line for something that looks available (or anything, to see a refusal)."""
        with self._lock:
            products = list(self._products.values())
        if not products:
            return None
        available = [p for p in products if p.get("available", 0) > 0] or products
        product = rng.choice(available)
        line = {"productId": product["id"], "quantity": 1}
        variants = product.get("variants") or []
        if variants:
            in_stock = [v for v in variants if v.get("available", 0) > 0] or variants
            line["variantId"] = rng.choice(in_stock)["id"]
        return line


class SimulatedViewer:
    """One audience member: an account (dev-login), an HTTP session and one Socket.IO
    connection with the three namespaces."""

    def __init__(self, base_url: str, index: int, stream_key: str, catalogue: Catalogue, seed: int) -> None:
        self.base_url = base_url
        self.index = index
        self.stream_key = stream_key
        self.catalogue = catalogue
        self.rng = random.Random(seed)
        self.http = requests.Session()
        self.client = socketio.Client(reconnection=False, request_timeout=REQUEST_TIMEOUT)
        self.received_ids: set[str] = set()
        self.sent_ids: list[str] = []
        self.messages_refused = 0
        self.orders_made = 0
        self.orders_refused: Counter = Counter()
        self.events: Counter = Counter()
        self.failures: list[str] = []
        self.token: str | None = None
        self._lock = threading.Lock()

    @property
    def email(self) -> str:
        return f"viewer-{self.index}@audience.dorami.test"

    # --- setting up ----------------------------------------------------------------------

    def sign_in(self) -> None:
        answer = self._post("/api/v1/auth/dev-login", {"email": self.email, "name": f"Viewer {self.index}"})
        if answer.status_code == 404:
            raise AudienceError(
                "dev-login is not available: start the service with ENABLE_DEV_AUTH=true (development, loopback)"
            )
        if answer.status_code != 200:
            raise AudienceError(f"dev-login answered {answer.status_code}: {answer.text[:200]}")
        token = answer.json()["data"]["accessToken"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        self._checked(self.http.patch, "/api/v1/users/me", {"depositorName": f"Viewer {self.index}"})
        address = {"fullName": f"Viewer {self.index}", "address1": "1 Demo St", "city": "Austin", "state": "TX"}
        self._checked(self.http.put, "/api/v1/users/me/shipping-address", {**address, "zip": "73301"})
        self.token = token

    def connect(self) -> None:
        for namespace in ("/", "/streaming", "/chat"):
            self.client.on("*", self._listener(namespace), namespace=namespace)
        self.client.connect(
            self.base_url,
            namespaces=["/", "/streaming", "/chat"],
            transports=["websocket"],
            auth={"token": self.token},
            wait_timeout=REQUEST_TIMEOUT,
        )
        for event, payload, namespace in (
            ("chat:join-room", {"liveId": self.stream_key}, "/chat"),
            ("stream:viewer:join", {"streamKey": self.stream_key}, "/streaming"),
            ("join:stream", {"streamId": self.stream_key}, "/"),
        ):
            answer = self.client.call(event, payload, namespace=namespace, timeout=REQUEST_TIMEOUT)
            if not (isinstance(answer, dict) and answer.get("success")):
                raise AudienceError(f"{event} refused: {answer}")

    def _listener(self, namespace: str):
        def on_event(event: str, data=None) -> None:
            with self._lock:
                self.events[event] += 1
                if event == "chat:message" and isinstance(data, dict):
                    self.received_ids.add(data.get("data", {}).get("id"))
            if event.startswith("live:product:") and isinstance(data, dict):
                self.catalogue.saw(event, data.get("data"))

        return on_event

    # --- acting --------------------------------------------------------------------------

    def take_turn(self, turn: int) -> None:
        self.say(f"{self.rng.choice(LINES)} ({self.index}.{turn})")
        if turn % BUY_EVERY == 0:
            self.buy()

    def say(self, text: str) -> None:
        payload = {"liveId": self.stream_key, "message": text, "clientMessageId": uuid.uuid4().hex}
        try:
            answer = self.client.call("chat:send-message", payload, namespace="/chat", timeout=REQUEST_TIMEOUT)
        except socketio.exceptions.SocketIOError as error:
            self.failures.append(f"viewer {self.index}: chat message not acknowledged ({error})")
            return
        if isinstance(answer, dict) and answer.get("success"):
            with self._lock:
                self.sent_ids.append(answer["data"]["id"])
        else:
            self.messages_refused += 1

    def buy(self) -> None:
        line = self.catalogue.pick(self.rng)
        if line is None:
            return
        try:
            answer = self.http.post(
                f"{self.base_url}/api/v1/orders/direct",
                json={"items": [line]},
                headers={"Idempotency-Key": uuid.uuid4().hex},
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException as error:
            self.failures.append(f"viewer {self.index}: order request failed ({error})")
            return
        if answer.status_code == 201:
            self.orders_made += 1
        elif 400 <= answer.status_code < 500:
            self.orders_refused[_error_code(answer)] += 1
        else:
            self.failures.append(f"viewer {self.index}: order answered {answer.status_code} {_error_code(answer)}")

    def has_received(self, ids: set[str]) -> bool:
        with self._lock:
            return ids <= self.received_ids

    def received_of(self, ids: set[str]) -> int:
        with self._lock:
            return len(ids & self.received_ids)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone: nothing to close
            self.client.disconnect()
        self.http.close()

    # --- HTTP ----------------------------------------------------------------------------

    def _post(self, path: str, body: dict) -> requests.Response:
        try:
            return self.http.post(f"{self.base_url}{path}", json=body, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            raise AudienceError(f"cannot reach {self.base_url}: {error}") from None

    def _checked(self, method, path: str, body: dict) -> None:
        answer = method(f"{self.base_url}{path}", json=body, timeout=REQUEST_TIMEOUT)
        if answer.status_code != 200:
            raise AudienceError(f"{path} answered {answer.status_code}: {answer.text[:200]}")


def _error_code(answer: requests.Response) -> str:
    try:
        return answer.json().get("errorCode") or str(answer.status_code)
    except ValueError:
        return str(answer.status_code)


def live_stream_key(base_url: str, stream_key: str | None) -> str:
    """The stream to watch: the one given, else the first stream live now."""
    try:
        if stream_key:
            answer = requests.get(f"{base_url}/api/v1/streaming/streams/key/{stream_key}/status", timeout=10)
            if answer.status_code == 404:
                raise AudienceError(f"no stream has the key {stream_key}")
            answer.raise_for_status()
            return stream_key
        active = requests.get(f"{base_url}/api/v1/streaming/streams/active", timeout=10)
        active.raise_for_status()
    except requests.RequestException as error:
        raise AudienceError(f"cannot reach {base_url}: {error}") from None
    items = active.json()["data"]["items"]
    if not items:
        raise AudienceError("no stream is live: run `flask --app wsgi demo seed` first, or pass --stream-key")
    return items[0]["streamKey"]


def stream_products(base_url: str, stream_key: str) -> list[dict]:
    answer = requests.get(
        f"{base_url}/api/v1/products", params={"streamKey": stream_key, "limit": 100}, timeout=REQUEST_TIMEOUT
    )
    answer.raise_for_status()
    return answer.json()["data"]["items"]


def run_audience(
    base_url: str, viewers: int, seconds: float, stream_key: str | None = None, seed: int = 1, say=print
) -> Summary:
    """Drive the service at `base_url` (already checked by check_target) for `seconds` seconds."""
    if not 1 <= viewers <= MAX_VIEWERS or not 0 < seconds <= MAX_SECONDS:
        raise AudienceError(f"between 1 and {MAX_VIEWERS} viewers, for at most {MAX_SECONDS} seconds")
    key = live_stream_key(base_url, stream_key)
    catalogue = Catalogue(stream_products(base_url, key))
    audience = [SimulatedViewer(base_url, i + 1, key, catalogue, seed * 1000 + i) for i in range(viewers)]
    summary = Summary(viewers=viewers)
    say(f"audience: {viewers} viewers for {seconds:g} s on stream {key} at {base_url}")
    joined: list[SimulatedViewer] = []
    try:
        for viewer in audience:
            viewer.sign_in()  # an AudienceError here (no dev-login, unreachable) stops the run
        for viewer in audience:
            try:
                viewer.connect()
                joined.append(viewer)
            except (AudienceError, socketio.exceptions.SocketIOError) as error:
                summary.failures.append(f"viewer {viewer.index}: could not join ({error})")
        summary.connected = len(joined)
        _act(joined, seconds)
        _drain(joined)
    finally:
        for viewer in audience:
            viewer.close()
    _count(summary, joined)
    return summary


def _act(joined: list[SimulatedViewer], seconds: float) -> None:
    """Every viewer takes a turn each MESSAGE_INTERVAL until the time is up."""
    deadline = time.monotonic() + seconds

    def run(viewer: SimulatedViewer) -> None:
        turn = 0
        while time.monotonic() < deadline:
            viewer.take_turn(turn)
            turn += 1
            time.sleep(max(0.0, min(MESSAGE_INTERVAL, deadline - time.monotonic())))

    threads = [threading.Thread(target=run, args=(viewer,), daemon=True) for viewer in joined]
    for thread in threads:
        thread.start()
    for thread in threads:
        # A turn past the deadline still finishes: at most a message and an order, each bounded.
        thread.join(max(0.0, deadline - time.monotonic()) + 3 * REQUEST_TIMEOUT)


def _sent(joined: list[SimulatedViewer]) -> set[str]:
    return {message_id for viewer in joined for message_id in viewer.sent_ids}


def _drain(joined: list[SimulatedViewer]) -> None:
    """Wait until every viewer holds every acknowledged message, or DRAIN_SECONDS pass."""
    sent = _sent(joined)
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and not all(viewer.has_received(sent) for viewer in joined):
        time.sleep(0.05)


def _count(summary: Summary, joined: list[SimulatedViewer]) -> None:
    sent = _sent(joined)
    summary.messages_sent = len(sent)
    summary.messages_expected = len(sent) * len(joined)
    for viewer in joined:
        summary.messages_received += viewer.received_of(sent)
        summary.messages_refused += viewer.messages_refused
        summary.orders_made += viewer.orders_made
        summary.orders_refused.update(viewer.orders_refused)
        summary.events.update(viewer.events)
        summary.failures.extend(viewer.failures)
