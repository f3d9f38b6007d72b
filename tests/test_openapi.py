"""The OpenAPI document covers every route with its schemas and security, and the API keeps its
promises: Schemathesis, driven by the served document with every check on, finds nothing on
any route, called anonymously, as a user and as an admin."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.auth import signed_in
from tests.support.server import VENV_BIN

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _werkzeug_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_document_lists_every_route_of_the_app(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    expected = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule == "/metrics":  # /metrics: Prometheus, not the API
            continue
        if rule.endpoint.startswith("liveroom."):  # the development page at / and its assets, not the API
            continue
        for method in rule.methods & METHODS:
            expected.add((_werkzeug_to_openapi(rule.rule), method.lower()))
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert expected == documented
    # Every route lives under /api/v1, except the Prometheus scrape path.
    assert all(path.startswith("/api/v1/") or path == "/metrics" for path, _ in documented)


def test_operations_carry_schemas_errors_and_security(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["cookieAuth"]["in"] == "cookie" and schemes["cookieAuth"]["name"] == "accessToken"

    create = document["paths"]["/api/v1/products"]["post"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert body_schema["additionalProperties"] is False  # unknown fields are rejected
    assert "price" in body_schema["required"]
    assert create["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    assert create["x-required-role"] == "ADMIN"
    for status in ("400", "401", "403", "409"):
        schema = create["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}
    data = create["responses"]["201"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert data == {"$ref": "#/components/schemas/ProductOut"}

    listing = document["paths"]["/api/v1/products"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"page", "limit", "streamId", "streamKey", "search"}
    assert {} in listing["security"]  # public; admins may see more
    assert document["paths"]["/api/v1/streaming/streams/active"]["get"]["security"] == []
    # every $ref resolves: pydantic's $defs were hoisted into components
    text = str(document)
    for name in set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text)):
        assert name in document["components"]["schemas"], name
    assert "$defs" not in text
    assert "text/html" in document["paths"]["/api/v1/docs"]["get"]["responses"]["200"]["content"]
    # the secret never appears in a public schema
    public = document["components"]["schemas"]["StreamOut"]["properties"]
    assert "publishKey" not in public
    assert "publishKey" in document["components"]["schemas"]["StreamAdminOut"]["required"]


def test_swagger_ui_outside_production_only(client, make_app):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/api/v1/openapi.json" in page.get_data(as_text=True)
    production = make_app(
        APP_ENV="production",
        PROFILE_ENCRYPTION_KEY="00" * 32,
        CORS_ORIGINS="https://shop.dorami.test",
    ).test_client()
    assert production.get("/api/v1/docs").status_code == 404
    assert production.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 404


# The budget of the run in CI: a few examples per operation, a fixed seed (the same cases every
# run). SCHEMATHESIS_MAX_EXAMPLES / SCHEMATHESIS_SEED raise or vary it on demand (README).
ST_CONFIG = Path(__file__).parent / "contract" / "schemathesis.toml"


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["anonymous", "user", "admin"])
def test_schemathesis_every_check_passes(app, live_server, tmp_path, caller):
    """Every Schemathesis check, in every phase (examples, coverage, fuzzing, stateful through
    the document's links), as a client team would run it: no server error, no response outside
    its schema, no valid request refused, no invalid one taken, right Allow headers and types."""
    headers = {}
    if caller != "anonymous":
        user, headers = signed_in(app, role="ADMIN" if caller == "admin" else "USER")
        # Newer sessions of the same account: the stateful phase follows GET /auth/sessions to
        # DELETE /auth/sessions/{first}, and revokes one of these, not the one it signs in with.
        for _ in range(3):
            signed_in(app, user=user)
    server = live_server(MEDIA_HOOK_SECRET="hook-secret-for-the-fuzzer", RATELIMIT_ENABLED="false")
    max_examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10")
    command = [
        str(VENV_BIN / "st"),
        "--config-file",
        str(ST_CONFIG),
        "run",
        f"{server.url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        max_examples,
        "--seed",
        os.environ.get("SCHEMATHESIS_SEED", "20261126"),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--request-timeout",
        "10",
        # One worker: CPython 3.11's ast.parse (used by Hypothesis to describe filters) is not
        # thread-safe ("AST constructor recursion depth mismatch" under two workers).
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        "--header",
        "X-Media-Hook-Secret: hook-secret-for-the-fuzzer",
        # An idle keep-alive connection would hold the server's graceful stop for 30 s.
        "--header",
        "Connection: close",
        # Logging out would revoke the fuzzer's own session and blind the rest of the run.
        "--exclude-path-regex",
        "/auth/logout",
        "--report-dir",
        str(tmp_path / "schemathesis"),
    ]
    if headers:
        command[command.index("--header") : command.index("--header")] = [
            "--header",
            f"Authorization: {headers['Authorization']}",
        ]
    timeout = 300 * max(1, int(max_examples) // 10)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
    output = result.stdout + result.stderr
    print(output[-6000:])
    assert result.returncode == 0, output[-12000:] + "\n--- server log ---\n" + server.log()[-4000:]
