"""GET /metrics: Prometheus text with per-pipeline counts, correct totals across several workers."""

from __future__ import annotations

from pathlib import Path

import httpx
from conftest import write_wrapper
from hardening_support import UPPER, metric_value


def test_one_scrape_counts_the_requests_of_every_worker(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    temp = tmp_path / "tmp"
    temp.mkdir()
    server = start_server(pipelines, args=["--workers", "2"], env={"TMPDIR": str(temp)})
    workers: set[str] = set()
    sent = 0
    for _ in range(200):  # bounded: new connection each time, until both workers have answered a few
        response = httpx.post(f"{server.url}/upper/run", json={"text": "m"}, timeout=10)
        assert response.json() == {"result": "M"}
        workers.add(response.headers["x-hayhooks-worker"])
        sent += 1
        if len(workers) == 2 and sent >= 20:
            break
    assert len(workers) == 2, "both workers should have answered"
    not_found = httpx.post(f"{server.url}/nope/run", json={}, timeout=10)
    assert not_found.status_code == 404

    for _ in range(4):  # whichever worker answers the scrape, the totals are the same
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
        assert metric_value(text, "hayhooks_requests_total", kind="run", pipeline="upper", status="200") == sent
        assert metric_value(text, "hayhooks_requests_total", kind="run", pipeline="", status="404") == 1
        assert metric_value(text, "hayhooks_request_duration_seconds_count", kind="run", pipeline="upper") == sent
        assert metric_value(text, "hayhooks_runs_in_flight", pipeline="upper") == 0
        assert metric_value(text, "hayhooks_deploy_events_total", event="deployed") == 2  # once per worker
        assert metric_value(text, "hayhooks_startup_deploy_seconds") > 0
    assert 'pipeline="nope"' not in text  # unknown names never become label values

    assert server.stop() == 0
    assert not list(temp.glob("hayhooks-metrics-*")), "the multiprocess metrics dir is removed at exit"


def test_single_worker_metrics_include_deploys_and_failures(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    write_wrapper(pipelines, "broken", "this is not python")
    with app_client(pipelines) as client:
        before = client.get("/metrics").text
        assert client.post("/deploy-yaml", json={"name": "bad", "source_code": "not: [yaml"}).status_code == 422
        assert client.post("/upper/run", json={"wrong": 1}).status_code == 422
        text = client.get("/metrics").text
    assert text.startswith("# HELP") or "# HELP" in text
    assert metric_value(text, "hayhooks_deploy_failures_total", source="startup") >= 1
    delta = metric_value(text, "hayhooks_deploy_failures_total", source="http") - metric_value(
        before, "hayhooks_deploy_failures_total", source="http"
    )
    assert delta == 1
    assert metric_value(text, "hayhooks_requests_total", kind="run", pipeline="upper", status="422") >= 1
    assert metric_value(text, "hayhooks_requests_total", kind="metrics", pipeline="", status="200") >= 1
