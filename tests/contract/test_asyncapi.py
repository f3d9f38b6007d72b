"""The AsyncAPI document at /api/v1/asyncapi.json: valid for the official parser, complete (every
event of the catalogue, every namespace), and true: every event and acknowledgement a server of
this test run sent matches its message in the document — an event the document lacks fails."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from dorami_api.realtime import catalogue
from tests.support.auth import signed_in
from tests.support.commerce import live_stream

HERE = Path(__file__).parent
ACK = ".ack"


def _document(client) -> dict:
    response = client.get("/api/v1/asyncapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_official_parser_accepts_the_document(client, tmp_path):
    node = shutil.which("node")
    assert node, "node is required (scripts/ensure-tools.sh installs it)"
    assert (HERE / "node_modules" / "@asyncapi" / "parser").is_dir(), "run scripts/contract-tools.sh"
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(_document(client)))
    result = subprocess.run(
        [node, str(HERE / "validate-asyncapi.mjs"), str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid:" in result.stdout


def test_every_namespace_and_event_is_described(client):
    document = _document(client)
    assert document["asyncapi"].startswith("3.")
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    assert set(channels) == {"/", "/streaming", "/chat"}
    for event in catalogue.client_events():
        messages = channels[event.namespace]["messages"]
        names = {message["name"] for key, message in messages.items() if not key.endswith(ACK)}
        assert {event.name, f"{event.name}:success", "error"} <= names
        assert any(key.endswith(ACK) and message["name"] == event.name for key, message in messages.items())
    for event in catalogue.server_events():
        assert any(m["name"] == event.name for m in channels[event.namespace]["messages"].values()), event
    # The handshake: its auth and every connect_error code.
    description = document["components"]["securitySchemes"]["accessToken"]["description"]
    for code in ("UNAUTHORIZED", "TOKEN_EXPIRED", "TOKEN_REVOKED", "ACCOUNT_SUSPENDED", "SERVICE_UNAVAILABLE"):
        assert code in description and code in document["info"]["description"]
    # The payload schema is the validating model's: a required field is required in both.
    send = channels["/chat"]["messages"]["chat.send-message"]["payload"]
    schema = document["components"]["schemas"][send["$ref"].rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"liveId", "message"}


def _validator(document: dict, schema: dict) -> Draft202012Validator:
    # References are "#/components/schemas/...": resolved against a root that carries them.
    return Draft202012Validator({**schema, "components": document["components"]})


def _check(document: dict, entry: dict) -> str | None:
    """Why `entry` (one recorded line) breaks the document, or None."""
    channel = next((c for c in document["channels"].values() if c["address"] == entry["namespace"]), None)
    if channel is None:
        return f"namespace {entry['namespace']} is not a channel"
    wanted = [
        message
        for key, message in channel["messages"].items()
        if message["name"] == entry["event"] and key.endswith(ACK) == (entry["kind"] == "ack")
    ]
    if not wanted:
        return f"{entry['kind']} {entry['event']} in {entry['namespace']} is not in the document"
    errors = sorted(_validator(document, wanted[0]["payload"]).iter_errors(entry["payload"]), key=str)
    if errors:
        return (
            f"{entry['kind']} {entry['event']} in {entry['namespace']}: {errors[0].message} {entry['payload']!r:.400}"
        )
    return None


@pytest.mark.slow
def test_every_event_the_servers_sent_is_in_the_document(app, client, live_server, connect, event_log):
    """Runs after every other test of the run (conftest.py): checks everything the servers
    recorded, and first drives a short session of its own so there is always something."""
    server = live_server()
    stream_key = live_stream(app).key
    token = signed_in(app, name="Contract").token
    viewer = connect(server.url, token=token, namespaces=["/", "/chat", "/streaming"])
    assert viewer.call("join:stream", {"streamId": stream_key}, "/")["success"]
    assert viewer.call("stream:viewer:join", {"streamKey": stream_key}, "/streaming")["success"]
    assert viewer.call("chat:join-room", {"liveId": stream_key}, "/chat")["success"]
    assert viewer.call("chat:send-message", {"liveId": stream_key, "message": "hi"}, "/chat")["success"]
    assert not viewer.call("chat:send-message", {"liveId": stream_key}, "/chat")["success"]
    viewer.emit("chat:leave-room", {"liveId": stream_key}, "/chat")  # no ack: chat:leave-room:success
    viewer.wait_for("chat:leave-room:success", "/chat")
    viewer.emit("chat:delete-message", {"liveId": stream_key, "messageId": "x"}, "/chat")  # refused: error
    viewer.wait_for("error", "/chat")

    document = _document(client)
    entries = [json.loads(line) for line in event_log.read_text().splitlines() if line.strip()]
    assert entries, "no event was recorded"
    problems = sorted({problem for entry in entries if (problem := _check(document, entry))})
    assert not problems, "\n".join(problems[:30])
