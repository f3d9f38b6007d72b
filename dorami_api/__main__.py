"""`python -m dorami_api`: one process serving HTTP and Socket.IO on gevent, for local work.
With nothing configured it runs on the embedded SQLite file and in-process Redis.
Production runs under gunicorn (gunicorn.conf.py) instead."""

from gevent import monkey

monkey.patch_all()

from psycogreen.gevent import patch_psycopg  # noqa: E402

patch_psycopg()

import sys  # noqa: E402

from dorami_api.config import Config, ConfigError  # noqa: E402


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"dorami-api: configuration error: {error}", file=sys.stderr)
        return 2
    from dorami_api import create_app
    from dorami_api.extensions import socketio

    app = create_app(config)
    mode = (
        "embedded SQLite + in-process Redis"
        if config.embedded_database and config.embedded_redis
        else "configured services"
    )
    print(f"dorami-api: {config.env} on http://0.0.0.0:{config.port} ({mode})", flush=True)
    if app.extensions.get("socketio"):
        socketio.run(app, host="0.0.0.0", port=config.port, log_output=False)
    else:
        from gevent.pywsgi import WSGIServer

        WSGIServer(("0.0.0.0", config.port), app, log=None).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
