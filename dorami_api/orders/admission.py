"""How many order placements one process works on at a time (ORDER_CONCURRENCY, default 8).

When a flash sale puts two thousand buyers on one product, every request would otherwise start at
once: each takes a database connection to check its session, reads the product, and competes for
the CPU with all the others — so the one buyer holding the product's row lock waits behind
hundreds of greenlets at every round trip, and the sale crawls (measured: 14 orders/s with 500
buyers). Admitted in arrival order, a few at a time, the buyers ahead finish quickly, the locked
section is short, and the pool is never drained. Waiting here holds no connection. A request
that cannot be admitted within ADMISSION_WAIT_SECONDS gets 503 SERVICE_BUSY with Retry-After.

Applied on the order-placing routes only (the cart checkout as `admitted`, the direct order of
several products in its service as `slot`), inside authentication and body validation: a slot is
taken only by a signed-in buyer whose whole request has arrived and is well-formed, so neither an
anonymous caller nor a client that sends its body slowly can hold one (8 slow clients would
otherwise shut a worker's order placement for ADMISSION_WAIT_SECONDS).

A direct order of one product takes no slot: it waits in its product's batch (products/
flash_sale.py) holding no connection, and the batch's seller does every buyer's work on one
connection (orders/batch_sale.py). With a slot, each batch was capped at ORDER_CONCURRENCY buyers
per worker and the workers sat waiting: 37–58 % of a core during the bench's flash sale, ~90 %
with the cap raised to 64 (bench/results/flash-batch3, flash-slots64).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app

from dorami_api.errors import service_busy

ADMISSION_WAIT_SECONDS = 20.0


def init_app(app: Flask) -> None:
    # Each app has its own slots, sized by its own ORDER_CONCURRENCY. Made in create_app, which
    # runs after gevent's monkey-patching, so a waiting request yields to the others (gevent's
    # semaphore wakes waiters in arrival order).
    app.extensions["order_admission"] = threading.Semaphore(app.config["DORAMI"].order_concurrency)


@contextmanager
def slot() -> Iterator[None]:
    """Hold one of this process's order slots (the direct order takes it in the service, after
    the availability gate has refused the buyers of a sold-out product)."""
    slots = current_app.extensions["order_admission"]
    if not slots.acquire(timeout=ADMISSION_WAIT_SECONDS):
        raise service_busy("Too many orders are being placed right now; try again")
    try:
        yield
    finally:
        slots.release()


def admitted(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with slot():
            return view(*args, **kwargs)

    return wrapper
