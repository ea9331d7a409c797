"""docs/configuration.md must list exactly the fields of ``Settings``, and be what the generator writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import Field

from hayhooks import settings_docs
from hayhooks.settings import Settings

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
REGENERATE = "run `python -m hayhooks.settings_docs` to regenerate docs/configuration.md"


def documented_settings(markdown: str) -> dict[str, list[str]]:
    """Setting name -> environment variables, read from the table rows between the generator's markers."""
    start = markdown.index(settings_docs.TABLE_START)
    end = markdown.index(settings_docs.TABLE_END)
    rows: dict[str, list[str]] = {}
    for line in markdown[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if not line.startswith("| `") or len(cells) != len(settings_docs.COLUMNS):
            continue
        name = cells[0].strip("`")
        assert name not in rows, f"{name} is listed twice"
        rows[name] = [var.strip().strip("`") for var in cells[1].split(" or ")]
    return rows


def reference_problems(markdown: str, settings_cls: type[Settings]) -> list[str]:
    documented = documented_settings(markdown)
    fields = settings_cls.model_fields
    prefix = settings_cls.model_config["env_prefix"]
    problems = [f"setting '{name}' is missing from the reference" for name in fields if name not in documented]
    problems += [f"the reference lists '{name}', which is not a setting" for name in documented if name not in fields]
    for name, variables in documented.items():
        if name in fields and variables != settings_docs.env_vars(name, fields[name], prefix):
            problems.append(f"'{name}' is documented with the wrong environment variable(s): {variables}")
    return problems


class WithNewSetting(Settings):
    brand_new_knob: int = Field(3, description="A setting added after the reference was generated.")


def test_every_setting_is_in_the_reference_and_nothing_else() -> None:
    assert reference_problems(REFERENCE.read_text(encoding="utf-8"), Settings) == [], REGENERATE


def test_the_committed_reference_is_the_generated_one() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == settings_docs.render(), REGENERATE


def test_every_setting_has_a_description() -> None:
    missing = [name for name, info in Settings.model_fields.items() if not (info.description or "").strip()]
    assert missing == [], f"add a description= to these fields: {missing}"


def test_a_setting_added_without_regenerating_is_reported() -> None:
    stale = settings_docs.render(Settings)
    assert reference_problems(stale, WithNewSetting) == ["setting 'brand_new_knob' is missing from the reference"]
    regenerated = settings_docs.render(WithNewSetting)
    assert reference_problems(regenerated, WithNewSetting) == []
    assert "| `brand_new_knob` | `HAYHOOKS_BRAND_NEW_KNOB` | integer | `3` |" in regenerated


def test_a_documented_setting_that_does_not_exist_is_reported() -> None:
    ghost = "| `ghost_knob` | `HAYHOOKS_GHOST_KNOB` | boolean | `false` | Was removed from the code. |\n"
    markdown = settings_docs.render().replace(settings_docs.TABLE_END, ghost + settings_docs.TABLE_END)
    assert reference_problems(markdown, Settings) == ["the reference lists 'ghost_knob', which is not a setting"]


def test_a_wrong_environment_variable_is_reported() -> None:
    markdown = settings_docs.render().replace("`HAYHOOKS_PORT` |", "`HAYHOOKS_PROT` |")
    assert reference_problems(markdown, Settings) == [
        "'port' is documented with the wrong environment variable(s): ['HAYHOOKS_PROT']"
    ]


@pytest.mark.parametrize(
    ("name", "cells"),
    [
        ("log_level", "| `log_level` | `HAYHOOKS_LOG_LEVEL` or `LOG` | string | `INFO` |"),
        ("port", "| `port` | `HAYHOOKS_PORT` | integer, 0–65535 | `1416` |"),
        ("cors_max_age", "| `cors_max_age` | `HAYHOOKS_CORS_MAX_AGE` | integer, ≥ 0 | `600` |"),
        ("cors_allow_origins", '| `cors_allow_origins` | `HAYHOOKS_CORS_ALLOW_ORIGINS` | list of strings | `["*"]` |'),
        ("request_timeout", "| `request_timeout` | `HAYHOOKS_REQUEST_TIMEOUT` | number (optional), > 0 | unset |"),
    ],
)
def test_rows_show_env_var_type_and_default(name: str, cells: str) -> None:
    assert cells in settings_docs.render()


def test_check_flag_exits_1_when_stale_and_0_when_current(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "configuration.md"
    assert settings_docs.main(["--check", "--output", str(target)]) == 1  # missing
    assert "out of date" in capsys.readouterr().err

    target.write_text(settings_docs.render().replace("| `port` |", "| `old_port` |"), encoding="utf-8")
    assert settings_docs.main(["--check", "--output", str(target)]) == 1  # stale

    assert settings_docs.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == settings_docs.render()
    assert settings_docs.main(["--check", "--output", str(target)]) == 0


def test_module_command_checks_the_committed_reference() -> None:
    """The command a contributor (or CI) runs: ``python -m hayhooks.settings_docs --check``."""
    result = subprocess.run(
        [sys.executable, "-m", "hayhooks.settings_docs", "--check", "--output", str(REFERENCE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + "\n" + REGENERATE
