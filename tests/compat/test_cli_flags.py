"""Hayhooks 2.1.0 command lines run unchanged: short flags, --reload, --stream, mcp run -j, pipeline deploy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from cliroutes_support import ECHO_WRAPPER, STREAMING_WRAPPER, free_port, start_command
from conftest import HAYHOOKS, base_env, write_wrapper
from mcp import Client


def _address(port: int) -> dict[str, str]:
    return {"HAYHOOKS_HOST": "127.0.0.1", "HAYHOOKS_PORT": str(port)}


def test_run_with_short_flags_reload_and_2_1_0_feature_flags(tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "echo", ECHO_WRAPPER)
    port = free_port()
    argv = ["run", "-h", "127.0.0.1", "-p", str(port), "-d", str(pipelines), "-w", "1", "-r"]
    argv += ["--with-chainlit", "--without-tracing", "--with-monitoring"]
    server = start_command(argv, tmp_path, port=port, cwd=tmp_path)
    try:
        answer = httpx.post(f"{server.url}/echo/run", json={"text": "short flags"}, timeout=30)
        assert answer.status_code == 200 and answer.json() == {"result": "SHORT FLAGS"}
        log = server.log()
        for flag in ("--with-chainlit", "--without-tracing", "--with-monitoring"):
            notes = [line for line in log.splitlines() if line.startswith(f"Note: {flag} ")]
            assert len(notes) == 1 and "no effect yet" in notes[0], log
        # With -r, uvicorn's reloader supervises and a child process serves (without it, this process serves).
        worker_pid = int(answer.headers["x-hayhooks-worker"].rpartition(":")[2])
        assert worker_pid != server.proc.pid
    finally:
        server.stop()


def test_pipeline_run_stream_prints_each_chunk_as_it_arrives(tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "streamer", STREAMING_WRAPPER)
    port = free_port()
    server = start_command(["run", "-h", "127.0.0.1", "-p", str(port), "-d", str(pipelines)], tmp_path, port=port)
    gate = tmp_path / "gate"
    try:
        for flag in ("--stream", "-s"):
            gate.unlink(missing_ok=True)
            command = [*HAYHOOKS, "pipeline", "run", "streamer", flag, "-p", "question=hi", "-p", f"gate={gate}"]
            proc = subprocess.Popen(command, env=base_env(**_address(port)), stdout=subprocess.PIPE, text=True)
            try:
                assert proc.stdout is not None
                # The pipeline cannot send its second chunk before the gate exists: the first one must be
                # on stdout while the run is still going.
                assert proc.stdout.readline() == "first:hi\n"
                assert proc.poll() is None
                gate.touch()
                rest, _ = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            assert proc.returncode == 0 and rest.strip() == "second"
    finally:
        server.stop()


def test_pipeline_deploy_answers_as_2_1_0_does() -> None:
    for argv in (["pipeline", "deploy"], ["pipeline", "deploy", "some_dir", "-n", "x"]):
        result = subprocess.run([*HAYHOOKS, *argv], env=base_env(), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "deploy-files" in result.stderr and "deploy-yaml" in result.stderr
        assert "no longer exists" in result.stderr


@pytest.mark.parametrize("json_flag", ["-j", "--json-response"])
async def test_mcp_run_short_flags_and_json_responses(tmp_path: Path, json_flag: str) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "echo", ECHO_WRAPPER)
    port = free_port()
    argv = ["mcp", "run", "-h", "127.0.0.1", "-p", str(port), "-d", str(pipelines), json_flag, "--debug"]
    server = start_command(argv, tmp_path, port=port, ready_path="/status")
    try:
        async with Client(f"{server.url}/mcp", mode="legacy") as client:
            result = await client.call_tool("echo", {"text": "json"})
            assert not result.is_error and result.content[0].text == "JSON"
        # A plain request shows the transport's answer: one JSON body, not an event stream.
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        }
        headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        answer = httpx.post(f"{server.url}/mcp", json=initialize, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        assert json.loads(answer.text)["result"]["serverInfo"]["name"] == "hayhooks"
    finally:
        server.stop()


def test_help_lists_the_2_1_0_flags() -> None:
    def help_of(*argv: str) -> str:
        result = subprocess.run(
            [*HAYHOOKS, *argv, "--help"], env={**base_env(), "COLUMNS": "200"}, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run_help = help_of("run")
    for flag in ("-h", "-p", "-d", "-w", "-r", "--with-chainlit", "--without-tracing", "--without-monitoring"):
        assert f" {flag} " in run_help or f" {flag}\n" in run_help or f"{flag} " in run_help, flag
    mcp_help = help_of("mcp", "run")
    for flag in ("-h", "-p", "-d", "-j", "--json-response", "--debug"):
        assert flag in mcp_help, flag
    assert "-s" in help_of("pipeline", "run") and "--stream" in help_of("pipeline", "run")
