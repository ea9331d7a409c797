"""Issue point 8 (settings part): ``HAYHOOKS_*`` variables, a ``.env`` in the working directory, LOG, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hayhooks.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No HAYHOOKS_* / LOG from the outer environment, and a working directory without a .env."""
    for key in list(os.environ):
        if key.startswith("HAYHOOKS_") or key == "LOG":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults() -> None:
    settings = load_settings()
    assert (settings.host, settings.port, settings.root_path, settings.workers) == ("localhost", 1416, "", 1)
    assert settings.pipelines_dir == "./pipelines"
    assert settings.startup_deploy_strategy == "parallel" and settings.startup_deploy_workers == 4
    assert settings.deploy_concurrency == "serialized"
    assert settings.show_tracebacks is False
    assert settings.log_level == "INFO"
    assert settings.cors_allow_origins == ["*"] and settings.cors_allow_methods == ["*"]
    assert settings.cors_allow_headers == ["*"] and settings.cors_allow_credentials is False
    assert settings.cors_allow_origin_regex is None
    assert settings.cors_is_wide_open


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "HAYHOOKS_HOST": "0.0.0.0",
        "HAYHOOKS_PORT": "8080",
        "HAYHOOKS_ROOT_PATH": "/api",
        "HAYHOOKS_PIPELINES_DIR": "/srv/pipelines",
        "HAYHOOKS_ADDITIONAL_PYTHON_PATH": "/srv/common",
        "HAYHOOKS_STARTUP_DEPLOY_STRATEGY": "sequential",
        "HAYHOOKS_STARTUP_DEPLOY_WORKERS": "9",
        "HAYHOOKS_DEPLOY_CONCURRENCY": "parallel",
        "HAYHOOKS_SHOW_TRACEBACKS": "true",
        "HAYHOOKS_CORS_ALLOW_ORIGINS": '["https://a.example.com", "https://b.example.com"]',
        "HAYHOOKS_CORS_ALLOW_METHODS": "GET, POST",
        "HAYHOOKS_CORS_ALLOW_HEADERS": '["Content-Type"]',
        "HAYHOOKS_CORS_ALLOW_CREDENTIALS": "1",
        "HAYHOOKS_CORS_ALLOW_ORIGIN_REGEX": r"https://.*\.example\.com",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert (settings.host, settings.port, settings.root_path) == ("0.0.0.0", 8080, "/api")
    assert settings.pipelines_dir == "/srv/pipelines" and settings.additional_python_path == "/srv/common"
    assert settings.startup_deploy_strategy == "sequential" and settings.startup_deploy_workers == 9
    assert settings.deploy_concurrency == "parallel"
    assert settings.show_tracebacks is True
    assert settings.cors_allow_origins == ["https://a.example.com", "https://b.example.com"]
    assert settings.cors_allow_methods == ["GET", "POST"]
    assert settings.cors_allow_headers == ["Content-Type"]
    assert settings.cors_allow_credentials is True
    assert settings.cors_allow_origin_regex == r"https://.*\.example\.com"
    assert not settings.cors_is_wide_open


def test_dotenv_in_working_directory(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text(
        "HAYHOOKS_PORT=9999\nHAYHOOKS_SHOW_TRACEBACKS=true\nHAYHOOKS_PIPELINES_DIR=from_dotenv\nLOG=debug\n"
    )
    settings = load_settings()
    assert settings.port == 9999 and settings.show_tracebacks is True
    assert settings.pipelines_dir == "from_dotenv"
    assert settings.log_level == "DEBUG"
    # A real environment variable beats the .env file.
    monkeypatch.setenv("HAYHOOKS_PORT", "7000")
    assert load_settings().port == 7000


def test_dotenv_elsewhere_is_not_read(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = clean_env / "other"
    other.mkdir()
    (clean_env / ".env").write_text("HAYHOOKS_PORT=9999\n")
    monkeypatch.chdir(other)
    assert load_settings().port == 1416


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LOG": "DEBUG"}, "DEBUG"),
        ({"LOG": "warning"}, "WARNING"),
        ({"HAYHOOKS_LOG_LEVEL": "ERROR"}, "ERROR"),
        ({"LOG": "DEBUG", "HAYHOOKS_LOG_LEVEL": "ERROR"}, "ERROR"),
        ({"LOG": "ERROR", "HAYHOOKS_LOG_LEVEL": "debug"}, "DEBUG"),
        ({"LOG": "warn"}, "WARNING"),
    ],
)
def test_log_and_hayhooks_log_level_latter_wins(monkeypatch: pytest.MonkeyPatch, env: dict, expected: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings().log_level == expected


def test_hayhooks_log_level_in_environment_beats_log_in_dotenv(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text("LOG=DEBUG\n")
    monkeypatch.setenv("HAYHOOKS_LOG_LEVEL", "ERROR")
    assert load_settings().log_level == "ERROR"


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("HAYHOOKS_PORT", "abc", "HAYHOOKS_PORT"),
        ("HAYHOOKS_PORT", "70000", "HAYHOOKS_PORT"),
        ("HAYHOOKS_WORKERS", "0", "HAYHOOKS_WORKERS"),
        ("HAYHOOKS_STARTUP_DEPLOY_STRATEGY", "fastest", "HAYHOOKS_STARTUP_DEPLOY_STRATEGY"),
        ("HAYHOOKS_STARTUP_DEPLOY_WORKERS", "-1", "HAYHOOKS_STARTUP_DEPLOY_WORKERS"),
        ("HAYHOOKS_DEPLOY_CONCURRENCY", "sometimes", "HAYHOOKS_DEPLOY_CONCURRENCY"),
        ("HAYHOOKS_SHOW_TRACEBACKS", "perhaps", "HAYHOOKS_SHOW_TRACEBACKS"),
        ("HAYHOOKS_CORS_ALLOW_CREDENTIALS", "nope", "HAYHOOKS_CORS_ALLOW_CREDENTIALS"),
        ("LOG", "LOUD", "LOG"),
        ("HAYHOOKS_LOG_LEVEL", "LOUD", "HAYHOOKS_LOG_LEVEL"),
    ],
)
def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, key: str, value: str, named: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert named in message
    assert "\n" not in message


def test_invalid_value_in_dotenv_names_the_variable(clean_env: Path) -> None:
    (clean_env / ".env").write_text("HAYHOOKS_STARTUP_DEPLOY_WORKERS=many\n")
    with pytest.raises(SettingsError, match="HAYHOOKS_STARTUP_DEPLOY_WORKERS"):
        load_settings()


def test_keyword_overrides_and_unknown_variables_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAYHOOKS_SOMETHING_UNKNOWN", "x")
    monkeypatch.setenv("HAYHOOKS_PORT", "1000")
    settings = Settings(_env_file=None, port=2000)
    assert settings.port == 2000
