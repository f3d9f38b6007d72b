"""`python -m dorami_api.jobs`: the Procfile's `worker` process."""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime

from dorami_api.config import Config, ConfigError


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"dorami-jobs: configuration error: {error}", file=sys.stderr)
        return 2
    from dorami_api import create_app
    from dorami_api.jobs.runner import install_signal_handlers, run_auction_ends_forever, run_forever
    from dorami_api.realtime import timers
    from dorami_api.server import shutdown

    app = create_app(config)
    logging.getLogger("dorami_api").setLevel(config.log_level)
    stop = threading.Event()
    install_signal_handlers(stop)
    # Auctions end within a second of endsAt: their own loop, polling several times a second.
    auctions = threading.Thread(target=run_auction_ends_forever, args=(app, stop), name="auction-ends", daemon=True)
    auctions.start()
    print(f"dorami-jobs: {config.env}, ticking every second, auction ends every 0.2 s", flush=True)
    # The moment it polls, for operators (and the test that restarts it) to measure from.
    print(f"dorami-jobs: ready at {datetime.now(UTC).isoformat()}", flush=True)
    run_forever(app, stop)
    auctions.join(timeout=10)
    # Broadcasts still held back (a coalesced stock update, paced purchase notices) go out now.
    shutdown.notify_shutdown(app)
    left = timers.finish_threads(10)
    if left:
        print(f"dorami-jobs: timers still running at exit: {', '.join(left)}", flush=True)
    print("dorami-jobs: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
