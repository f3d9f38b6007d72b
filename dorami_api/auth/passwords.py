"""Password hashing: Argon2id (argon2-cffi), salted and slow by design.

An unknown email still costs one verification against a dummy hash, so that response time does
not reveal whether an account exists. Under gevent the hashing runs in the hub's thread pool
(argon2 releases the GIL): a burst of logins must not freeze every socket of the worker.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from gevent import get_hub

from dorami_api.concurrency import gevent_patched

# Stateless: argon2 parameters only, the same for every app.
_hasher = PasswordHasher()


def _off_the_loop(fn, *args):
    if not gevent_patched():
        return fn(*args)
    return get_hub().threadpool.apply(fn, args)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("dorami-timing-equaliser")


def hash_password(password: str) -> str:
    return _off_the_loop(_hasher.hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash (Kakao-only account) costs the same time."""
    if not password_hash:
        _check(_dummy_hash(), password)
        return False
    return _check(password_hash, password)


def _check(password_hash: str, password: str) -> bool:
    try:
        return _off_the_loop(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """After a change of Argon2 parameters, hashes are upgraded at the next successful login."""
    return _hasher.check_needs_rehash(password_hash)
