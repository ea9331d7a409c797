"""Generate ``docs/configuration.md`` from the ``Settings`` class, so the reference cannot drift from the code.

    python -m hayhooks.settings_docs            # rewrite docs/configuration.md
    python -m hayhooks.settings_docs --check    # exit 1 when the file is not what the generator would write

Each setting becomes one table row: name, environment variable(s), type, default and the field's description.
Rows are grouped under the ``# --- title ---`` comments of the class body.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from hayhooks.settings import Settings

TABLE_START = "<!-- settings-table:start -->"
TABLE_END = "<!-- settings-table:end -->"
COLUMNS = ("Setting", "Environment variable", "Type", "Default", "Description")
_SECTION_RE = re.compile(r"^\s*#\s*-{3}\s*(.+?)\s*-{3,}\s*$")
_FIELD_RE = re.compile(r"^\s{4}([a-z_][a-z0-9_]*)\s*:")
_OTHER = "Other"


# --- cells -------------------------------------------------------------------------------------------------------
def env_vars(name: str, info: FieldInfo, prefix: str) -> list[str]:
    """The variables a field is read from: its alias choices, or ``PREFIX + NAME``."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [prefix + name.upper()]


_TYPE_WORDS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", SecretStr: "secret"}


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def type_label(annotation: Any) -> str:
    if _is_union(annotation):
        members = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(members) < len(get_args(annotation))
        label = " or ".join(type_label(m) for m in members)
        return f"{label} (optional)" if optional else label
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in get_args(annotation))
    if get_origin(annotation) in (list, tuple, set, frozenset):
        (item,) = get_args(annotation)[:1] or (str,)
        return f"list of {type_label(item)}s"
    return _TYPE_WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(info: FieldInfo) -> str:
    found: dict[str, Any] = {}
    for item in info.metadata:
        for kind in ("ge", "gt", "le", "lt"):
            if isinstance(item, getattr(annotated_types, kind.capitalize())):
                found[kind] = getattr(item, kind)
    if "ge" in found and "le" in found:
        return f"{found['ge']}–{found['le']}"
    symbols = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    return ", ".join(f"{symbols[kind]} {value}" for kind, value in found.items())


def type_cell(info: FieldInfo) -> str:
    bounds = _bounds(info)
    label = type_label(info.annotation)
    return f"{label}, {bounds}" if bounds else label


def _default_value(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return None if info.default is PydanticUndefined else info.default


def default_cell(info: FieldInfo) -> str:
    """The default written the way it would be set in the environment."""
    value = _default_value(info)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | tuple | dict):
        return f"`{json.dumps(value)}`"
    if value == "":
        return "empty"
    return f"`{value}`"


def description_cell(info: FieldInfo) -> str:
    text = " ".join((info.description or "").split())
    return text.replace("|", "\\|") or "(no description)"


def row(name: str, info: FieldInfo, prefix: str) -> str:
    cells = (
        f"`{name}`",
        " or ".join(f"`{var}`" for var in env_vars(name, info, prefix)),
        type_cell(info),
        default_cell(info),
        description_cell(info),
    )
    return "| " + " | ".join(cells) + " |"


# --- grouping ------------------------------------------------------------------------------------------------------
def _source_sections(cls: type) -> dict[str, str]:
    """Field name -> title of the ``# --- title ---`` comment above it, for ``cls`` and its settings bases."""
    sections: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseSettings)) or klass is BaseSettings:
            continue
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        current = _OTHER
        for line in lines:
            if match := _SECTION_RE.match(line):
                current = match.group(1)
            elif match := _FIELD_RE.match(line):
                sections.setdefault(match.group(1), current)
    return sections


def grouped_fields(cls: type[BaseSettings]) -> dict[str, list[str]]:
    """Section title -> field names, in declaration order; fields without a section go under "Other"."""
    sections = _source_sections(cls)
    groups: dict[str, list[str]] = {}
    for name in cls.model_fields:
        groups.setdefault(sections.get(name, _OTHER), []).append(name)
    if _OTHER in groups:
        groups[_OTHER] = groups.pop(_OTHER)
    return groups


def _title(section: str) -> str:
    return section[:1].upper() + section[1:]


# --- the page ------------------------------------------------------------------------------------------------------
_INTRO = """\
# Configuration reference

<!-- Generated by `python -m hayhooks.settings_docs` from src/hayhooks/settings.py. Do not edit by hand:
     change the field's description in the Settings class and regenerate. -->

Hayhooks reads its configuration from environment variables, and from a `.env` file in the directory the
command runs in. A variable set in the environment wins over the same line in `.env`; flags of `hayhooks run`
(`--host`, `--port`, `--workers`, `--pipelines-dir`, ...) win over both.

How values are written:

- **booleans**: `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
- **lists**: a JSON list (`'["https://a.example", "https://b.example"]'`) or comma-separated text (`a,b`).
- **optional settings** (default `unset`) stay off until given a value; to switch one off again, remove the
  variable rather than setting it to an empty string.

A wrong value stops the command with one line naming the variable, for example
`Invalid value for HAYHOOKS_PORT: Input should be a valid integer`.
"""

_CLIENT_ONLY = """\
## Variables read by the CLI only

The commands that talk to a running server (`hayhooks status`, `hayhooks pipeline ...`, see [cli.md](cli.md))
find it through `HAYHOOKS_HOST` and `HAYHOOKS_PORT` above (the `--host`/`--port` flags win), and use
`HAYHOOKS_USE_HTTPS` and `HAYHOOKS_DISABLE_SSL`. One more variable is not a server setting at all:

| Environment variable | Description |
| --- | --- |
{api_key_row}

## Keeping this page current

This page is generated. After adding or changing a setting in `src/hayhooks/settings.py`, run
`python -m hayhooks.settings_docs`; `python -m hayhooks.settings_docs --check` (and the test suite) fail while
the page is out of date.
""".format(
    api_key_row="| `HAYHOOKS_API_KEY` | API key the CLI sends as `Authorization: Bearer <key>` when `--api-key` is not "
    "given. The server never reads it; its own keys are `HAYHOOKS_API_KEYS` and `HAYHOOKS_ADMIN_API_KEYS`. |"
)


def render(cls: type[BaseSettings] = Settings) -> str:
    prefix = str(cls.model_config.get("env_prefix", ""))
    parts = [_INTRO, "## Settings\n", TABLE_START]
    header = "| " + " | ".join(COLUMNS) + " |\n|" + " --- |" * len(COLUMNS)
    for section, names in grouped_fields(cls).items():
        parts.append(f"\n### {_title(section)}\n\n{header}")
        parts.extend(row(name, cls.model_fields[name], prefix) for name in names)
    parts.append("\n" + TABLE_END + "\n")
    parts.append(_CLIENT_ONLY)
    return "\n".join(parts)


def default_output() -> Path:
    """``docs/configuration.md`` of the source checkout this module lives in, else of the working directory."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "docs" / "configuration.md"
    return Path.cwd() / "docs" / "configuration.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hayhooks.settings_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the generated text")
    parser.add_argument("--output", type=Path, default=None, help="file to write or check (default: %(default)s)")
    args = parser.parse_args(argv)
    output = args.output or default_output()
    expected = render()
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != expected:
            print(f"{output} is out of date; regenerate it with `python -m hayhooks.settings_docs`.", file=sys.stderr)
            return 1
        print(f"{output} is up to date.")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(expected, encoding="utf-8")
    print(f"Wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
