"""Auth sessions this process has recently checked for a socket connect.

A client opens up to three namespaces over one connection and reconnects in storms (a worker
restart, the start of a show): each connect used to read the session row in PostgreSQL again.
A live session read for a connect is remembered for REMEMBER_SECONDS; the token itself (signature,
expiry, type, Redis blocklist) is still checked on every connect.

Revocation stays immediate: every revocation reaches every socket-serving process as the
`cut-sessions` control command (revocation.py), which forgets the user's sessions here before it
cuts their sockets. Sessions are only remembered while this process is subscribed to those
commands (control.py), and a read that a revocation overtook is not kept (`_epoch`).
"""

from __future__ import annotations

import threading

from cachetools import TTLCache
from flask import Flask

from dorami_api.auth.principal import LiveSession, live_session
from dorami_api.realtime import server as socket_server

REMEMBER_SECONDS = 30.0
MAX_REMEMBERED = 50_000


class SessionCache:
    def __init__(self) -> None:
        self.enabled = False  # True while this process receives every revocation
        self.epoch = 0  # bumped by every revocation: a read begun before one is not remembered
        # (session id, user id) -> session, for REMEMBER_SECONDS
        self.remembered: TTLCache = TTLCache(maxsize=MAX_REMEMBERED, ttl=REMEMBER_SECONDS)
        self.lock = threading.Lock()  # a TTLCache is not safe for concurrent threads

    def checked_session(self, claims: dict) -> LiveSession:
        key = (claims["sid"], claims["sub"])
        with self.lock:
            remembered = self.remembered.get(key)
        if remembered is not None and remembered.is_live:
            return remembered
        epoch = self.epoch
        session = live_session(claims)
        if self.enabled and epoch == self.epoch:
            with self.lock:
                self.remembered[key] = session
        return session

    def forget_user(self, user_id: str) -> None:
        self.epoch += 1
        with self.lock:
            for key in [key for key in self.remembered if key[1] == user_id]:
                self.remembered.pop(key, None)

    def listening(self, enabled: bool) -> None:
        self.enabled = enabled
        if not enabled:
            self.epoch += 1
            with self.lock:
                self.remembered.clear()


def init_app(app: Flask) -> None:
    socket_server.keep(app, "session_cache", SessionCache())


def _state() -> SessionCache:
    return socket_server.state("session_cache")


def checked_session(claims: dict) -> LiveSession:
    """The token's live session: remembered, else read (and checked) in PostgreSQL."""
    return _state().checked_session(claims)


def forget_user(user_id: str) -> None:
    """A session of the user was revoked (or the user suspended)."""
    _state().forget_user(user_id)


def listening(enabled: bool) -> None:
    """control.py: whether this process receives revocations now. Losing them forgets everything."""
    _state().listening(enabled)
