"""Request ids, one access line per request, levels by environment, JSON lines, and no secret in
any log line."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from dorami_api.observability.logging import REDACTED, redact

SECRET = "s3cr3t-value-that-must-not-leak"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl"


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_request_id_is_generated_and_echoed(client):
    first = client.get("/api/v1/health/live")
    second = client.get("/api/v1/health/live")
    assert len(first.headers["X-Request-Id"]) >= 16
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


def test_a_sane_request_id_is_honoured_also_on_errors(client):
    assert (
        client.get("/api/v1/health/live", headers={"X-Request-Id": "abc-123.def:7"}).headers["X-Request-Id"]
        == "abc-123.def:7"
    )
    missing = client.get("/api/v1/no-such-route", headers={"X-Request-Id": "trace-404"})
    assert missing.status_code == 404
    assert missing.headers["X-Request-Id"] == "trace-404"


@pytest.mark.parametrize("bad", ["x" * 129, "two words", "inject\\nline", "<script>", "a;b=c"])
def test_an_insane_request_id_is_replaced(client, bad):
    echoed = client.get("/api/v1/health/live", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
    assert echoed != bad
    assert len(echoed) == 32


def test_one_json_access_line_per_request_with_its_id(make_app, capsys):
    client = make_app(LOG_FORMAT="json", LOG_LEVEL="INFO").test_client()
    capsys.readouterr()
    client.get("/api/v1/health/live", headers={"X-Request-Id": "req-json-1"})
    client.get("/api/v1/nowhere", headers={"X-Request-Id": "req-json-2"})
    lines = [line for line in _json_lines(capsys.readouterr().out) if line["logger"] == "dorami_api.access"]
    assert [(line["request_id"], line["method"], line["path"], line["status"]) for line in lines] == [
        ("req-json-1", "GET", "/api/v1/health/live", 200),
        ("req-json-2", "GET", "/api/v1/nowhere", 404),
    ]
    for line in lines:
        assert line["level"] == "INFO"
        assert line["remote_addr"] == "127.0.0.1"
        assert isinstance(line["duration_ms"], float)
        assert line["time"].endswith("Z")


def test_app_lines_logged_during_a_request_carry_its_id(make_app, capsys):
    app = make_app(LOG_FORMAT="json", LOG_LEVEL="INFO")

    @app.get("/test-only/log")
    def log_something():
        logging.getLogger("dorami_api.test").warning("something happened")
        return {"ok": True}

    capsys.readouterr()
    app.test_client().get("/test-only/log", headers={"X-Request-Id": "rid-inside"})
    lines = _json_lines(capsys.readouterr().out)
    inside = [line for line in lines if line["logger"] == "dorami_api.test"]
    assert inside == [{**inside[0], "level": "WARNING", "message": "something happened", "request_id": "rid-inside"}]


def test_text_lines_by_default_with_the_request_id(make_app, capsys):
    client = make_app(LOG_LEVEL="INFO").test_client()
    capsys.readouterr()
    client.get("/api/v1/health/live", headers={"X-Request-Id": "text-rid"})
    out = capsys.readouterr().out
    access = [line for line in out.splitlines() if "dorami_api.access" in line]
    assert len(access) == 1
    assert "[text-rid] GET /api/v1/health/live 200" in access[0]


def _production_env() -> dict:
    return {
        "APP_ENV": "production",
        "PROFILE_ENCRYPTION_KEY": base64.b64encode(b"k" * 32).decode(),
        "CORS_ORIGINS": "https://shop.dorami.test",
        "LOG_LEVEL": "",
    }


def test_production_logs_warnings_but_still_one_access_line(make_app, capsys):
    client = make_app(**_production_env()).test_client()
    assert logging.getLogger().level == logging.WARNING
    capsys.readouterr()
    logging.getLogger("dorami_api.test").info("chatty detail")
    logging.getLogger("dorami_api.test").warning("worth knowing")
    client.get("/api/v1/health/live")
    out = capsys.readouterr().out
    assert "chatty detail" not in out
    assert "worth knowing" in out
    assert sum("GET /api/v1/health/live 200" in line for line in out.splitlines()) == 1


def test_development_logs_debug(make_app):
    make_app(APP_ENV="development", LOG_LEVEL="")
    assert logging.getLogger().level == logging.DEBUG


def test_access_lines_go_to_a_file_when_configured(make_app, tmp_path, capsys):
    access_file = tmp_path / "access.log"
    client = make_app(LOG_LEVEL="INFO", ACCESS_LOG_FILE=str(access_file)).test_client()
    client.get("/api/v1/health/live", headers={"X-Request-Id": "to-file"})
    assert "[to-file] GET /api/v1/health/live 200" in access_file.read_text()
    assert "to-file" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "text",
    [
        f"GET /socket.io/?EIO=4&token={SECRET}&transport=polling",
        f"Authorization: Bearer {SECRET}",
        f"headers: {{'Authorization': 'Bearer {SECRET}', 'Cookie': 'refreshToken={SECRET}'}}",
        f'login body {{"email": "a@b.test", "password": "{SECRET}"}}',
        f"{{'password': '{SECRET} with spaces'}}",
        f"cookie: accessToken={SECRET}; refreshToken={SECRET}",
        f"refresh_token={SECRET}&x=1",
        f"/api/v1/auth/kakao/callback?code={SECRET}&state={SECRET}",
        f"MEDIA_HOOK_SECRET={SECRET} JWT_SECRET={SECRET}",
        f"csrf_token: {SECRET}",
    ],
)
def test_redaction_removes_credentials(text):
    cleaned = redact(text)
    assert SECRET not in cleaned
    assert REDACTED in cleaned


def test_redaction_removes_bare_jwts_and_keeps_ordinary_text():
    assert JWT not in redact(f"issued {JWT} to user 7")
    ordinary = "GET /api/v1/products?page=2&limit=20 200 errorCode=NOT_FOUND status code 404 tokens=3"
    assert redact(ordinary) == ordinary


def test_no_secret_reaches_the_log_output(make_app, capsys):
    app = make_app(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    client = app.test_client()
    capsys.readouterr()
    client.get(
        f"/api/v1/health/live?token={SECRET}",
        headers={"Authorization": f"Bearer {JWT}", "Cookie": f"refreshToken={SECRET}"},
    )
    log = logging.getLogger("dorami_api.test")
    log.warning("login attempt %s", {"email": "a@b.test", "password": SECRET})
    log.info("upstream said: Authorization: Bearer %s", JWT)
    try:
        raise ValueError(f"bad token={SECRET}")
    except ValueError:
        log.exception("failed with %s", f"cookie: refreshToken={SECRET}")
    out = capsys.readouterr().out
    assert SECRET not in out
    assert JWT not in out
    lines = _json_lines(out)
    assert len([line for line in lines if line["logger"] == "dorami_api.test"]) == 3
    access = [line for line in lines if line["logger"] == "dorami_api.access"]
    assert access[0]["path"] == "/api/v1/health/live"
