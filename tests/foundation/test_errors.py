"""The error envelope on every failure path."""

from __future__ import annotations

import pytest
from flask import Blueprint

from dorami_api.web.responses import ok
from dorami_api.web.validation import Schema, body


class Greeting(Schema):
    name: str
    times: int = 1


def _with_probe_routes(app):
    """A JSON route and a failing route, registered the way every blueprint registers them."""
    probe = Blueprint("probe", __name__)

    @probe.post("/greet")
    @body(Greeting)
    def greet(body: Greeting):
        return ok({"greeting": f"hello {body.name}" * body.times})

    @probe.get("/boom")
    def boom():
        raise RuntimeError("SELECT secret FROM users -- must never reach the client")

    app.register_blueprint(probe, url_prefix="/api/v1/probe")
    return app.test_client()


@pytest.fixture
def probe_client(app):
    return _with_probe_routes(app)


def _assert_envelope(response, status, code):
    assert response.status_code == status
    payload = response.get_json()
    assert payload["success"] is False
    assert payload["errorCode"] == code
    assert payload["message"]
    assert payload["timestamp"].endswith("Z")
    return payload


def test_valid_json_gets_the_success_envelope(probe_client):
    response = probe_client.post("/api/v1/probe/greet", json={"name": "dora"})
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["success"] is True
    assert payload["data"] == {"greeting": "hello dora"}


def test_unknown_route_is_404(client):
    _assert_envelope(client.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")


def test_wrong_method_is_405_with_allow_header(client):
    response = client.post("/api/v1/health/live")
    _assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_unknown_fields_are_rejected_not_written(probe_client):
    response = probe_client.post("/api/v1/probe/greet", json={"name": "dora", "role": "ADMIN"})
    payload = _assert_envelope(response, 400, "VALIDATION_ERROR")
    assert payload["details"]["fields"][0]["field"] == "role"


def test_wrong_types_are_a_validation_error(probe_client):
    payload = _assert_envelope(
        probe_client.post("/api/v1/probe/greet", json={"name": "dora", "times": "many"}),
        400,
        "VALIDATION_ERROR",
    )
    assert payload["details"]["fields"][0]["field"] == "times"


def test_malformed_json_is_400(probe_client):
    response = probe_client.post("/api/v1/probe/greet", data='{"name": "dora"', content_type="application/json")
    _assert_envelope(response, 400, "INVALID_JSON")


def test_a_json_array_is_not_an_object(probe_client):
    _assert_envelope(probe_client.post("/api/v1/probe/greet", json=["dora"]), 400, "VALIDATION_ERROR")


def test_non_json_body_is_415(probe_client):
    response = probe_client.post(
        "/api/v1/probe/greet", data="name=dora", content_type="application/x-www-form-urlencoded"
    )
    _assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_body_over_the_limit_is_413(probe_client):
    big = '{"name": "' + "x" * (1024 * 1024 + 10) + '"}'
    response = probe_client.post("/api/v1/probe/greet", data=big, content_type="application/json")
    _assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_unexpected_errors_are_500_without_internals(probe_client):
    response = probe_client.get("/api/v1/probe/boom")
    payload = _assert_envelope(response, 500, "INTERNAL_SERVER_ERROR")
    text = response.get_data(as_text=True)
    assert "SELECT" not in text and "Traceback" not in text and "details" not in payload
