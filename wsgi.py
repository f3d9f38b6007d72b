"""WSGI entry point for gunicorn: gevent patching must happen before any other import, so that
sockets, threads and (through psycogreen) psycopg2 all yield to other greenlets."""

from gevent import monkey

monkey.patch_all()

from psycogreen.gevent import patch_psycopg  # noqa: E402

patch_psycopg()

from dorami_api import create_app  # noqa: E402

app = create_app()
