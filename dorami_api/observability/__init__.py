"""Observability: logging with request ids, the access log, and /metrics (Prometheus).

Kept import-light: the gunicorn master imports this package (for its logger class) before the
metrics directory is known, so prometheus_client is imported only by the modules create_app
loads in each worker.
"""
