"""Process logging: levels by environment, text or JSON lines (SPEC §8)."""

from __future__ import annotations

import json
import logging
import sys

from flask import Flask

from dorami_api.common.responses import iso, utc_now


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": iso(utc_now()),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "remote_addr", "user_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter stays at WARNING unless asked for explicitly.
    for noisy in ("engineio", "socketio", "geventwebsocket", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    configure_logging(config.log_level, config.log_format)
