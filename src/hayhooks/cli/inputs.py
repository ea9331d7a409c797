"""What the CLI sends: a pipeline folder's files, ``--param key=value`` pairs and files to upload."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hayhooks.cli.errors import ClientError
from hayhooks.deploy.files import WRAPPER_FILE, is_ignored

YAML_SUFFIXES = (".yml", ".yaml")


@dataclass
class FolderFiles:
    files: dict[str, str] = field(default_factory=dict)
    skipped_binary: list[str] = field(default_factory=list)


def _walk(folder: Path) -> list[tuple[PurePosixPath, Path]]:
    """Every regular file under ``folder`` (symlinked folders not followed), minus caches and hidden files."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root, name)
            relative = PurePosixPath(path.relative_to(folder).as_posix())
            if path.is_file() and not is_ignored(relative):
                found.append((relative, path))
    return found


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_pipeline_folder(folder: Path) -> FolderFiles:
    """The text files of a wrapper folder, keyed by their path relative to it (``/``-separated)."""
    if not folder.exists():
        raise ClientError(f"Folder {folder} does not exist. Pass the folder that holds {WRAPPER_FILE}.")
    if not folder.is_dir():
        raise ClientError(f"{folder} is not a folder. For a YAML file use `hayhooks pipeline deploy-yaml {folder}`.")
    result = FolderFiles()
    for relative, path in _walk(folder):
        content = _text(path)
        if content is None:
            result.skipped_binary.append(str(relative))
        else:
            result.files[str(relative)] = content
    if WRAPPER_FILE not in result.files:
        raise ClientError(
            f"No {WRAPPER_FILE} in {folder}: a pipeline folder needs one with a PipelineWrapper class "
            "(see docs/pipeline-wrappers.md)."
        )
    return result


def parse_value(raw: str) -> Any:
    """JSON when the text is JSON (``3``, ``true``, ``["a"]``, ``"quoted"``), the text itself otherwise."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, float) and not math.isfinite(value):
        return raw  # NaN / Infinity are words here, not numbers
    return value


def parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ClientError(f"Invalid --param {pair!r}: use key=value, e.g. --param 'query=What is RAG?'.")
        params[key.strip()] = parse_value(raw)
    return params


def collect_uploads(files: list[Path], dirs: list[Path]) -> list[tuple[str, Path]]:
    """``(name sent to the server, local path)`` for every ``--file`` and every file under every ``--dir``."""
    uploads: list[tuple[str, Path]] = []
    for path in files:
        if not path.is_file():
            raise ClientError(f"--file {path}: no such file.")
        uploads.append((path.name, path))
    for folder in dirs:
        if not folder.is_dir():
            raise ClientError(f"--dir {folder}: no such folder.")
        uploads.extend((str(relative), path) for relative, path in _walk(folder))
    return uploads


def is_yaml_file(path: Path) -> bool:
    return path.suffix.lower() in YAML_SUFFIXES
