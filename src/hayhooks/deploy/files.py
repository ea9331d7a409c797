"""Pipeline names, file names and on-disk layout of the pipelines dir.

Layout: a wrapper pipeline is ``DIR/NAME/`` holding ``pipeline_wrapper.py``; a YAML pipeline is ``DIR/NAME.yml``
(or ``.yaml``). A pipeline saved by a deploy request carries a marker (``DIR/NAME/.hayhooks-managed`` or
``DIR/.NAME.yml.hayhooks-managed``) so undeploy deletes only what a request wrote, never an operator's files.
Every write goes to a hidden sibling first and is renamed into place, so readers never see half a pipeline.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from hayhooks.deploy.errors import PipelineConflictError, UnsafePathError

_logger = logging.getLogger("hayhooks")

WRAPPER_FILE = "pipeline_wrapper.py"
YAML_SUFFIXES = (".yml", ".yaml")
MANAGED_MARKER = ".hayhooks-managed"
# The first path segment of every route the server itself answers: a pipeline named like one would have its
# /NAME/run (and its OpenAPI entry) mixed up with that route. tests/deploy/test_reserved_names.py checks this
# list against the routes of a server with every feature on, so it cannot drift from them.
RESERVED_NAMES = frozenset(
    {
        # management
        "deploy",
        "deploy-yaml",
        "deploy_files",
        "undeploy",
        "status",
        "draw",
        # probes, metrics and API docs
        "health",
        "metrics",
        "docs",
        "redoc",
        "openapi.json",
        # OpenAI-compatible API (with and without the /v1 prefix)
        "v1",
        "chat",
        "responses",
        "files",
        "models",
        # MCP transports
        "mcp",
        "sse",
        "messages",
    }
)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_IGNORED_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", "~", ".tmp")


def validate_pipeline_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise UnsafePathError(
            f"Invalid pipeline name {name!r}: use letters, digits, '_', '-' or '.', starting with a letter or digit."
        )
    if name in RESERVED_NAMES:
        raise UnsafePathError(
            f"Invalid pipeline name {name!r}: it is reserved for the server's own routes. "
            f"Reserved names: {', '.join(sorted(RESERVED_NAMES))}."
        )
    return name


_ignore_patterns: tuple[str, ...] | None = None


def configure_ignore_patterns(patterns: list[str] | tuple[str, ...]) -> None:
    """Set ``HAYHOOKS_FILES_TO_IGNORE_PATTERNS`` for this process (the deploy service does, from its settings)."""
    global _ignore_patterns
    _ignore_patterns = tuple(patterns)


def _patterns() -> tuple[str, ...]:
    if _ignore_patterns is None:
        from hayhooks.settings import get_settings

        configure_ignore_patterns(get_settings().files_to_ignore_patterns)
    return _ignore_patterns or ()


def skip_reason(relative: PurePosixPath) -> str | None:
    """Why a file is never part of a pipeline (caches, editor leftovers, hidden files, a match of
    ``HAYHOOKS_FILES_TO_IGNORE_PATTERNS`` on any part of its path), or None when it is."""
    for part in relative.parts[:-1]:
        if part in _IGNORED_DIRS or part.startswith("."):
            return f"inside the folder {part!r}: hidden and cache folders are not part of a pipeline"
    if relative.name.startswith("."):
        return "hidden file (name starts with '.'): hidden files are not part of a pipeline"
    if relative.name.endswith(_IGNORED_SUFFIXES):
        return "compiled, swap, backup or temporary file: such files are not part of a pipeline"
    for pattern in _patterns():
        if any(fnmatch.fnmatchcase(part, pattern) for part in relative.parts):
            return f"matches HAYHOOKS_FILES_TO_IGNORE_PATTERNS ({pattern!r})"
    return None


def is_ignored(relative: PurePosixPath) -> bool:
    """Files that are never part of a pipeline (see ``skip_reason``)."""
    return skip_reason(relative) is not None


def safe_relative_path(file_name: str) -> PurePosixPath:
    """Check a file name from a request; it must stay inside the pipeline's folder."""
    if not isinstance(file_name, str) or not file_name or "\x00" in file_name or "\\" in file_name:
        raise UnsafePathError(f"Invalid file name {file_name!r}.")
    path = PurePosixPath(file_name)
    if path.is_absolute() or file_name.startswith("~") or any(part in ("..", "") for part in path.parts):
        raise UnsafePathError(f"File name {file_name!r} would escape the pipeline folder; use a relative path.")
    if re.match(r"^[A-Za-z]:", file_name):
        raise UnsafePathError(f"File name {file_name!r} would escape the pipeline folder; use a relative path.")
    return path


def check_files(files: Mapping[str, str]) -> dict[PurePosixPath, str]:
    """Validate every file name of a deploy request before anything is written; the files that are part of the
    pipeline, without those ``skipped_files`` names."""
    checked: dict[PurePosixPath, str] = {}
    for name, content in files.items():
        path = safe_relative_path(name)
        if not isinstance(content, str):
            raise UnsafePathError(f"Content of {name!r} must be a string.")
        if not is_ignored(path):
            checked[path] = content
    return checked


def skipped_files(files: Mapping[str, str]) -> dict[str, str]:
    """File name -> why it is left out, for the files of a deploy request that are not saved nor loaded."""
    skipped = {}
    for name in files:
        reason = skip_reason(safe_relative_path(name))
        if reason is not None:
            skipped[name] = reason
    return skipped


def ensure_inside(root: Path, target: Path) -> None:
    """Refuse a target whose real location (following symlinks) is outside ``root``."""
    real_root = root.resolve()
    real_target = target.resolve()
    if real_target != real_root and real_root not in real_target.parents:
        raise UnsafePathError(f"Path {target} resolves outside {root} (through a symlink?); refusing to write.")


def write_tree(folder: Path, files: Mapping[PurePosixPath, str]) -> None:
    folder.mkdir(exist_ok=True)  # not its parents: a pipelines dir removed meanwhile is not silently recreated
    for rel, content in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        ensure_inside(folder, target)
        target.write_text(content, encoding="utf-8")


_LARGE_FILE = 10 * 1024 * 1024


def pipeline_files(folder: Path) -> list[tuple[PurePosixPath, Path]]:
    """Every file that belongs to a pipeline folder, sorted, with caches and hidden files left out."""
    found = []
    for path in folder.rglob("*"):
        rel = PurePosixPath(path.relative_to(folder).as_posix())
        if not is_ignored(rel) and path.is_file():
            found.append((rel, path))
    return sorted(found, key=lambda item: str(item[0]))


def _hash_entry(digest: hashlib._Hash, rel: PurePosixPath, data: bytes) -> None:
    digest.update(str(rel).encode() + b"\0" + data + b"\0")


def content_version(files: Mapping[PurePosixPath, str] | str) -> str:
    """A short content hash identifying one version of a pipeline (same value as ``folder_version``)."""
    digest = hashlib.sha256()
    if isinstance(files, str):
        digest.update(files.encode())
    else:
        for rel in sorted(files, key=str):
            _hash_entry(digest, rel, files[rel].encode())
    return digest.hexdigest()[:12]


def _version_entry(digest: hashlib._Hash, rel: PurePosixPath, path: Path) -> bytes | None:
    """Add one file to a folder's version; returns its content, or None for a large file (hashed by size and
    modification time, linked rather than copied)."""
    stat = path.stat()
    if stat.st_size > _LARGE_FILE:
        _hash_entry(digest, rel, f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        return None
    data = path.read_bytes()
    _hash_entry(digest, rel, data)
    return data


def disk_version(path: Path) -> str:
    """The content hash the loader gives a pipeline of the dir (folder or YAML file), as in
    ``DeployedPipeline.version``."""
    if path.is_dir():
        return folder_version(path)
    # Read like the loader (universal newlines); undecodable bytes still hash, and the load reports them.
    with open(path, encoding="utf-8", errors="replace") as file:
        return content_version(file.read())


def folder_version(folder: Path) -> str:
    digest = hashlib.sha256()
    for rel, path in pipeline_files(folder):
        _version_entry(digest, rel, path)
    return digest.hexdigest()[:12]


def copy_folder(source: Path, target: Path) -> str:
    """Copy a pipeline folder (large files are linked, not copied); returns the version of what was copied (as
    ``folder_version`` gives it), each file read once for both."""
    digest = hashlib.sha256()
    target.mkdir(parents=True, exist_ok=True)
    for rel, path in pipeline_files(source):
        destination = target / rel
        if len(rel.parts) > 1:
            destination.parent.mkdir(parents=True, exist_ok=True)
        data = _version_entry(digest, rel, path)
        if data is None:
            destination.symlink_to(path.resolve())
        else:
            destination.write_bytes(data)
            shutil.copymode(path, destination)  # a script the wrapper runs stays executable
    return digest.hexdigest()[:12]


# --- the pipelines dir ----------------------------------------------------------------------------------------


def yaml_marker(path: Path) -> Path:
    return path.with_name(f".{path.name}{MANAGED_MARKER}")


def existing_yaml(pipelines_dir: Path, name: str) -> Path | None:
    for suffix in YAML_SUFFIXES:
        candidate = pipelines_dir / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def is_managed(pipelines_dir: Path, name: str) -> bool:
    """True when the pipeline on disk was written by a deploy request (so undeploy may delete it)."""
    folder = pipelines_dir / name
    if folder.is_dir():
        return (folder / MANAGED_MARKER).exists()
    yaml_path = existing_yaml(pipelines_dir, name)
    return yaml_path is not None and yaml_marker(yaml_path).exists()


def exists_on_disk(pipelines_dir: Path, name: str) -> bool:
    return (pipelines_dir / name).is_dir() or existing_yaml(pipelines_dir, name) is not None


def check_writable(pipelines_dir: Path) -> None:
    """Before a save: a pipelines dir removed while the server runs is created again (as Hayhooks 2.1.0 does, and
    as its users' test fixtures rely on); a dir that cannot be created or written is refused, saying which."""
    if not pipelines_dir.is_dir():
        try:
            pipelines_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PipelineConflictError(f"{missing_dir_message(pipelines_dir)} Creating it failed: {exc}") from exc
        _logger.warning(
            "The pipelines dir %s was missing (removed while the server runs); created it again", pipelines_dir
        )
    if not os.access(pipelines_dir, os.W_OK):
        raise PipelineConflictError(
            f"The pipelines dir {pipelines_dir} is read-only: change pipelines there (it is watched) "
            "or mount it writable to deploy at runtime."
        )


def missing_dir_message(pipelines_dir: Path) -> str:
    return (
        f"The pipelines dir {pipelines_dir} is missing (removed while the server runs), so the pipeline cannot be "
        "saved: create the dir again, or deploy with save_files=false (save_file=false for YAML) to keep the "
        "pipeline in memory only."
    )


def _hidden_sibling(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{tag}-{uuid.uuid4().hex[:8]}")


_OWN_HIDDEN_RE = re.compile(
    r"^\.(?P<entry>.+?)(?:\.(?:staging|old|removed)-[0-9a-f]{8}|" + re.escape(MANAGED_MARKER) + ")$"
)


def hidden_owner(entry_name: str) -> str | None:
    """The visible entry (``NAME`` or ``NAME.yml``) a hidden entry of ours belongs to: a staging or replaced
    copy, or a managed marker. ``None`` for anything else (e.g. a Kubernetes ``..data`` symlink)."""
    match = _OWN_HIDDEN_RE.match(entry_name)
    return match.group("entry") if match and not match.group("entry").startswith(".") else None


def save_wrapper_folder(
    pipelines_dir: Path, name: str, files: Mapping[PurePosixPath, str], managed: bool = True
) -> None:
    """Atomically replace ``DIR/NAME/`` with ``files`` (written aside, then renamed into place)."""
    target = pipelines_dir / name
    ensure_inside(pipelines_dir, target.parent)
    staging = _hidden_sibling(target, "staging")
    write_tree(staging, files)
    if managed:
        (staging / MANAGED_MARKER).write_text("saved by a hayhooks deploy request\n", encoding="utf-8")
    old = _hidden_sibling(target, "old") if target.exists() else None
    if old is not None:
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    remove_yaml(pipelines_dir, name)


def save_yaml_file(pipelines_dir: Path, name: str, source: str, managed: bool = True) -> None:
    target = existing_yaml(pipelines_dir, name) or pipelines_dir / f"{name}.yml"
    staging = _hidden_sibling(target, "staging")
    staging.write_text(source, encoding="utf-8")
    if managed:
        yaml_marker(target).write_text("saved by a hayhooks deploy request\n", encoding="utf-8")
    os.replace(staging, target)
    folder = pipelines_dir / name
    if folder.is_dir() and (folder / MANAGED_MARKER).exists():
        remove_folder(folder)


def remove_folder(folder: Path) -> None:
    trash = _hidden_sibling(folder, "removed")
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def remove_yaml(pipelines_dir: Path, name: str) -> None:
    path = existing_yaml(pipelines_dir, name)
    if path is not None and yaml_marker(path).exists():
        path.unlink(missing_ok=True)
        yaml_marker(path).unlink(missing_ok=True)


def remove_saved_pipeline(pipelines_dir: Path, name: str) -> None:
    """Delete what a deploy request saved for ``name``; operator files are left alone."""
    folder = pipelines_dir / name
    if folder.is_dir() and (folder / MANAGED_MARKER).exists():
        remove_folder(folder)
    remove_yaml(pipelines_dir, name)


def discover(pipelines_dir: Path) -> dict[str, Path]:
    """Every pipeline in the dir: subfolders with a wrapper, and YAML files. Hidden entries are skipped."""
    found: dict[str, Path] = {}
    if not pipelines_dir.is_dir():
        return found
    for entry in sorted(pipelines_dir.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir() and (entry / WRAPPER_FILE).is_file():
            found[entry.name] = entry
        elif entry.is_file() and entry.suffix in YAML_SUFFIXES and entry.stem not in found:
            found[entry.stem] = entry
    return found
