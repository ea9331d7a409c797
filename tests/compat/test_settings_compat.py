"""Hayhooks 2.1.0 settings names: the strategy enums, ``check_cors_settings``, and the tracing/monitoring
switches (accepted, no effect here) that ``hayhooks run --with/--without-...`` sets."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from cliroutes_support import free_port, start_command
from conftest import write_wrapper

from hayhooks.settings import DeployConcurrencyPolicy, Settings, StartupDeployStrategy, check_cors_settings

SETTINGS_WRAPPER = '''
from hayhooks import BasePipelineWrapper
from hayhooks.settings import settings


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self) -> dict:
        """The switches as the worker serving the request reads them."""
        return {"tracing": settings.tracing_enabled, "monitoring": settings.monitoring_enabled}
'''


def test_strategy_enums_are_the_setting_values() -> None:
    settings = Settings(
        _env_file=None,
        startup_deploy_strategy=StartupDeployStrategy.SEQUENTIAL,
        deploy_concurrency=DeployConcurrencyPolicy.PARALLEL,
    )
    assert settings.startup_deploy_strategy == "sequential" == StartupDeployStrategy.SEQUENTIAL
    assert settings.deploy_concurrency == "parallel" == DeployConcurrencyPolicy.PARALLEL
    assert Settings(_env_file=None).deploy_concurrency == DeployConcurrencyPolicy.SERIALIZED


def test_check_cors_settings_warns_only_when_wide_open(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hayhooks"):
        assert check_cors_settings(Settings(_env_file=None)) is True
        assert "CORS allows every origin" in caplog.text
        caplog.clear()
        assert check_cors_settings(Settings(_env_file=None, cors_allow_origins=["https://example.com"])) is False
        assert caplog.text == ""


def test_tracing_and_monitoring_switches_default_on_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(_env_file=None).tracing_enabled is True
    monkeypatch.setenv("HAYHOOKS_TRACING_ENABLED", "false")
    monkeypatch.setenv("HAYHOOKS_MONITORING_ENABLED", "false")
    settings = Settings(_env_file=None)
    assert settings.tracing_enabled is False and settings.monitoring_enabled is False


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--without-tracing", "--with-monitoring"], {"tracing": False, "monitoring": True}),
        (["--with-tracing", "--without-monitoring", "-r"], {"tracing": True, "monitoring": False}),
    ],
)
def test_run_flags_reach_the_workers_settings(tmp_path: Path, flags: list[str], expected: dict) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "switches", SETTINGS_WRAPPER)
    port = free_port()
    env = {"HAYHOOKS_TRACING_ENABLED": str(not expected["tracing"]).lower()}  # the flag wins over the environment
    server = start_command(
        ["run", "-h", "127.0.0.1", "-p", str(port), "-d", str(pipelines), *flags], tmp_path, port=port, env=env
    )
    try:
        answer = httpx.post(f"{server.url}/switches/run", json={}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == expected
    finally:
        server.stop()
