"""The ops pictures: the Grafana dashboard asks only for metrics (and labels) that a real server
exports, covers every metric family the service documents, and docker-compose.yml's `monitoring`
profile wires Prometheus to the backends and Grafana to Prometheus and the dashboard."""

from __future__ import annotations

import json
import re

import pytest
import requests
import yaml

from tests.ops.test_gunicorn import scrape
from tests.support.auth import signed_in
from tests.support.commerce import live_stream
from tests.support.server import ROOT
from tests.support.sockets import NAMESPACES, Viewer

DASHBOARD = ROOT / "deploy/grafana/dashboards/dorami-api.json"
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
PROMQL_KEYWORDS |= {"offset", "inf", "nan"}
# What the dashboard must show: request rate, latency, errors, sockets, socket events, worker
# memory, Redis up, database latency.
SHOWN = {
    "dorami_http_requests_total",
    "dorami_http_request_duration_seconds_bucket",
    "dorami_socketio_connected_sockets",
    "dorami_socketio_events_total",
    "dorami_process_resident_memory_bytes",
    "dorami_redis_up",
    "dorami_db_query_duration_seconds_bucket",
}


def panels(container: dict) -> list[dict]:
    found = []
    for panel in container.get("panels", []):
        found.append(panel)
        found += panels(panel)  # rows may hold their panels
    return found


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]


def _without_strings_and_ranges(expr: str) -> str:
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return re.sub(r"\[[^\]]*\]", "", expr)


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects: identifiers that are not functions (followed
    by a parenthesis), keywords, label names (inside {...} or by/without (...)) or numbers."""
    expr = _without_strings_and_ranges(expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("(") or match.group().lower() in PROMQL_KEYWORDS:
            continue
        names.add(match.group())
    return names


def label_names(expr: str) -> set[str]:
    """Label names used in matchers ({label="..."}) and in by/without (...) clauses."""
    expr = _without_strings_and_ranges(expr)
    labels = set()
    for matchers in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
    for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels |= {label.strip() for label in grouping.split(",") if label.strip()}
    return labels


def test_the_query_parser_finds_metrics_and_labels():
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(a_seconds_bucket{status=~"5.."}[$__rate_interval])))'
        " / clamp_min(sum(rate(b_total[5m])), 1e-9) or vector(0)"
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total"}
    assert label_names(expr) == {"le", "route", "status"}


@pytest.mark.slow
def test_every_dashboard_query_names_metrics_and_labels_the_service_exports(live_server, app):
    server = live_server(workers=2)
    stream_key = live_stream(app).key
    token = signed_in(app).token
    # A few requests (answered 200, 401 and 404) and a socket that sends an event.
    for path in ("/api/v1/health/ready", "/api/v1/products", "/api/v1/no-such-route", "/api/v1/users/me"):
        assert requests.get(f"{server.url}{path}", timeout=10).status_code < 500
    viewer = Viewer(server.url, namespaces=NAMESPACES, token=token)
    try:
        viewer.call("join:stream", {"streamKey": stream_key}, namespace="/")
        samples = scrape(server)
    finally:
        viewer.close()
    exported: dict[str, set[str]] = {}
    for sample in samples:
        exported.setdefault(sample.name, set()).update(sample.labels)

    queries = dashboard_queries()
    assert queries, "the dashboard has no query"
    used = set()
    for expr in queries:
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        unknown = names - set(exported)
        assert not unknown, f"{expr!r} asks for {unknown}, which the service does not export"
        labels = set().union(*(exported[name] for name in names))
        assert label_names(expr) <= labels, f"{expr!r} groups or filters by labels its metrics lack"
        used |= names
    assert used >= SHOWN, SHOWN - used


def test_every_panel_queries_the_provisioned_prometheus():
    dashboard = json.loads(DASHBOARD.read_text())
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    (prometheus,) = datasources["datasources"]
    variable = next(v for v in dashboard["templating"]["list"] if v["type"] == "datasource")
    assert variable["query"] == prometheus["type"] == "prometheus"
    assert variable["current"]["value"] == prometheus["uid"]
    for panel in panels(dashboard):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${" + variable["name"] + "}"}, panel["title"]
            assert panel["targets"], panel["title"]
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))


def test_the_monitoring_profile_wires_prometheus_to_the_backends_and_grafana_to_the_dashboard():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    monitoring = {name for name, service in services.items() if "monitoring" in service.get("profiles", [])}
    assert monitoring == {"prometheus", "grafana"}
    # Everything else starts without the profile, as before.
    assert all("profiles" not in service for name, service in services.items() if name not in monitoring)

    def mounts(service: dict) -> dict[str, str]:
        return {v.split(":")[1]: v.split(":")[0] for v in service["volumes"] if v.startswith("./")}

    prometheus_mounts = mounts(services["prometheus"])
    config_path = next(arg.split("=", 1)[1] for arg in services["prometheus"]["command"] if "config.file" in arg)
    config = yaml.safe_load((ROOT / prometheus_mounts[config_path]).read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    targets = {target for group in job["static_configs"] for target in group["targets"]}
    backends = {name for name in services if name.startswith("api-")}
    assert targets == {f"{name}:{services[name]['environment']['PORT']}" for name in backends}

    grafana_mounts = mounts(services["grafana"])
    provisioning = ROOT / grafana_mounts["/etc/grafana/provisioning"]
    datasource = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    assert any(port.endswith(":9090") for port in services["prometheus"]["ports"])
    (provider,) = yaml.safe_load((provisioning / "dashboards/dorami.yml").read_text())["providers"]
    dashboards = ROOT / grafana_mounts[provider["options"]["path"]]
    assert (dashboards / DASHBOARD.name).resolve() == DASHBOARD.resolve()
    assert {"prometheus_data", "grafana_data"} <= set(compose["volumes"])
