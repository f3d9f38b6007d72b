"""GET /metrics in one process (the test client): Prometheus text with the service's metrics,
optional bearer token. The multi-worker behaviour is tested on real gunicorn in test_gunicorn.py."""

from __future__ import annotations

import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dorami_api.observability import metrics


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_http_requests_are_counted_by_method_route_and_status(app):
    @app.get("/test-only/things/<thing_id>")
    def thing(thing_id):
        return {"id": thing_id}

    client = app.test_client()
    before = scrape(client)
    for thing_id in ("a", "b", "c"):
        assert client.get(f"/test-only/things/{thing_id}").status_code == 200
    client.get("/api/v1/no-such-route")
    client.post("/api/v1/health/live")
    after = scrape(client)

    def delta(**labels):
        name = "dorami_http_requests_total"
        return value(after, name, **labels) - value(before, name, **labels)

    # The URL rule, not the raw path: one series for every thing id.
    assert delta(method="GET", route="/test-only/things/<thing_id>", status="200") == 3
    assert delta(method="GET", route="<unmatched>", status="404") == 1
    assert delta(method="POST", route="<unmatched>", status="405") == 1
    assert not any("/test-only/things/a" in str(key) for key in after)
    latency = "dorami_http_request_duration_seconds_count"
    labels = {"method": "GET", "route": "/test-only/things/<thing_id>"}
    assert value(after, latency, **labels) - value(before, latency, **labels) == 3


def test_database_latency_redis_and_memory_are_reported(client):
    before = scrape(client)
    assert client.get("/api/v1/health/ready").status_code == 200
    after = scrape(client)
    selects = "dorami_db_query_duration_seconds_count"
    assert value(after, selects, operation="select") > value(before, selects, operation="select")
    assert value(after, "dorami_redis_up") == 1
    assert value(after, "dorami_process_resident_memory_bytes") > 10 * 1024 * 1024


@pytest.fixture
def closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_redis_down_is_reported_as_zero(make_app, closed_port):
    client = make_app(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0").test_client()
    assert value(scrape(client), "dorami_redis_up") == 0


def test_socket_traffic_reported_by_the_realtime_layer(client):
    before = scrape(client)
    metrics.socket_connected("/chat")
    metrics.socket_connected("/chat")
    metrics.socket_disconnected("/chat")
    metrics.socket_connected("/")
    for _ in range(3):
        metrics.socket_event("/chat", "chat:send-message")
    metrics.socket_event("/chat", "<script>alert(1)</script>")
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("dorami_socketio_connected_sockets", namespace="/chat") == 1
    assert delta("dorami_socketio_connected_sockets", namespace="/") == 1
    assert delta("dorami_socketio_events_total", namespace="/chat", event="chat:send-message") == 3
    # A name no legitimate client sends is folded into one series.
    assert delta("dorami_socketio_events_total", namespace="/chat", event="other") == 1
    metrics.socket_disconnected("/")


def test_socket_metrics_never_raise_into_the_realtime_layer(client):
    before = scrape(client)
    metrics.socket_connected(None)
    metrics.socket_event("/chat", None)
    metrics.socket_disconnected("")
    after = scrape(client)
    # Nothing raised, the scrape still answers, and an unnamed namespace is counted as "other":
    # the connect and the disconnect of such a socket cancel out.
    sockets = "dorami_socketio_connected_sockets"
    assert value(after, sockets, namespace="other") == value(before, sockets, namespace="other")


def test_client_chosen_event_names_cannot_grow_the_series_without_bound(client, monkeypatch):
    monkeypatch.setattr(metrics, "_seen_socket_labels", set())
    monkeypatch.setattr(metrics, "MAX_SOCKET_LABELS", 5)
    for number in range(20):
        metrics.socket_event("/chat", f"made-up-{number}")
    body = client.get("/metrics").get_data(as_text=True)
    assert sum(f'event="made-up-{number}"' in body for number in range(20)) <= 5
    assert 'event="other"' in body


def test_metrics_token_protects_the_endpoint(make_app):
    client = make_app(METRICS_TOKEN="metrics-token-123").test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.get_json()["errorCode"] == "UNAUTHORIZED"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic metrics-token-123"}).status_code == 401
    assert scrape(client, Authorization="Bearer metrics-token-123")


def test_metrics_are_open_without_a_token(client):
    assert client.get("/metrics").status_code == 200
