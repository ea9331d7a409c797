"""HAYHOOKS_LOG_FORMAT=json: one JSON object per line, tagged with the request id; keys never logged."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from conftest import write_wrapper
from hardening_support import ADMIN_KEY, ALL_KEYS, CONTEXT_SYNC, INVOKE_KEY, UPPER, bearer


def test_json_lines_carry_the_request_id_and_no_key_at_debug(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "context", CONTEXT_SYNC)
    (tmp_path / "admin.keys").write_text(ADMIN_KEY + "\n")
    env = {
        "HAYHOOKS_LOG_FORMAT": "json",
        "LOG": "DEBUG",
        "HAYHOOKS_API_KEYS": json.dumps([INVOKE_KEY]),
        "HAYHOOKS_ADMIN_API_KEYS_FILE": str(tmp_path / "admin.keys"),
    }
    server = start_server(pipelines, env=env)
    with server.client() as client:
        given = client.post(
            "/context/run", json={"text": "given"}, headers={**bearer(INVOKE_KEY), "X-Request-ID": "trace-42"}
        )
        assert given.headers["x-request-id"] == "trace-42"
        assert given.json()["result"]["request_id"] == "trace-42"
        generated = client.post("/context/run", json={"text": "generated"}, headers={"X-API-Key": INVOKE_KEY})
        generated_id = generated.headers["x-request-id"]
        assert len(generated_id) >= 16 and generated.json()["result"]["request_id"] == generated_id
        unsafe = client.post(
            "/context/run", json={"text": "x"}, headers={**bearer(INVOKE_KEY), "X-Request-ID": "a b\tc"}
        )
        assert unsafe.headers["x-request-id"] != "a b\tc"  # not a safe id: replaced, never logged as sent
        # Traffic that could leak a key: wrong keys, an admin deploy, a failed deploy, a 403.
        client.post("/context/run", json={"text": "x"}, headers=bearer("wrong-" + INVOKE_KEY))
        client.post("/undeploy/context", headers=bearer(INVOKE_KEY))
        client.post(
            "/deploy_files", json={"name": "u", "files": {"pipeline_wrapper.py": UPPER}}, headers=bearer(ADMIN_KEY)
        )
        client.post(
            "/deploy_files", json={"name": "bad", "files": {"pipeline_wrapper.py": "x("}}, headers=bearer(ADMIN_KEY)
        )
    assert httpx.get(f"{server.url}/health/ready").status_code == 200
    assert server.stop() == 0

    lines = [line for line in server.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    assert any(record["level"] == "DEBUG" for record in records)
    ran = [r for r in records if "context wrapper ran for given" in r["message"]]
    assert ran and ran[0]["request_id"] == "trace-42"
    ran = [r for r in records if "context wrapper ran for generated" in r["message"]]
    assert ran and ran[0]["request_id"] == generated_id
    log = server.log()
    for key in ALL_KEYS:
        assert key not in log
    assert ADMIN_KEY[:12] not in log and INVOKE_KEY[-12:] not in log
