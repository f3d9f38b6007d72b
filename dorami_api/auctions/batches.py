"""This process's bid batches (dorami_api/batches.py), one line per auction: the bids that reach
the process together are decided in one locked transaction (auctions/service.py decide_bids)."""

from __future__ import annotations

from flask import Flask, current_app

from dorami_api.batches import Batches

_EXTENSION = "dorami_auction_batches"
# The most bids one transaction decides (one multi-row INSERT); more wait for the next batch.
MAX_BATCH = 200


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = Batches(
        MAX_BATCH, interrupted=lambda: RuntimeError("the batch of bids was interrupted")
    )


def batches() -> Batches:
    return current_app.extensions[_EXTENSION]
