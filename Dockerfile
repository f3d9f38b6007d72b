FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 APP_ENV=production PORT=3001
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY dorami_api ./dorami_api
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py Procfile ./

RUN useradd --create-home --uid 10001 dorami && chown -R dorami /app
USER dorami

EXPOSE 3001
# gunicorn stops gracefully on SIGTERM (up to 30 s): give `docker stop` -t 35 or compose's
# stop_grace_period.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3001\")}/api/v1/health/live', timeout=2)"

CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
