"""gunicorn's own log lines (master and workers) with the app's rules: credentials redacted,
JSON lines when LOG_FORMAT=json. gunicorn.conf.py names this class as `logger_class`."""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from dorami_api.observability.logging import JsonFormatter, RedactingFilter, TextFormatter


class DoramiGunicornLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        as_json = (os.environ.get("LOG_FORMAT") or "text").strip().lower() == "json"
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
                    handler.addFilter(RedactingFilter())
                if as_json:
                    handler.setFormatter(JsonFormatter())
                elif handler.formatter is not None and not isinstance(handler.formatter, TextFormatter):
                    # gunicorn's own format, with control characters escaped (a request line
                    # it complains about is the client's text).
                    handler.setFormatter(TextFormatter(handler.formatter._fmt, handler.formatter.datefmt))
