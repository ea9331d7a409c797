"""Preparing the machine: the reference's own virtualenv, this project's virtualenv, and wrk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REFERENCE_REQUIREMENT = "hayhooks[mcp,durable]==2.1.0"  # durable: the Redis client its durable mode needs
REFERENCE_VERSION = "2.1.0"


def log(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def _installed_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('hayhooks'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    return done.stdout.strip() if done.returncode == 0 else None


def _has_redis(venv: Path) -> bool:
    done = subprocess.run([str(venv / "bin" / "python"), "-c", "import redis"], capture_output=True, timeout=120)
    return done.returncode == 0


def ensure_reference_venv(venv: Path) -> Path:
    """Create ``venv`` with the reference Hayhooks release in it; returns its `hayhooks` script.

    The reference goes into this separate virtualenv only: it has the same package name as our
    project, so it must never be installed into the project's environment.
    """
    hayhooks = venv / "bin" / "hayhooks"
    if hayhooks.exists() and _installed_version(venv) == REFERENCE_VERSION and _has_redis(venv):
        return hayhooks
    if not (venv / "bin" / "python").exists():
        log(f"creating virtualenv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    log(f"installing {REFERENCE_REQUIREMENT} into {venv} (a few minutes the first time)")
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            REFERENCE_REQUIREMENT,
        ],
        check=True,
        timeout=1800,
    )
    if _installed_version(venv) != REFERENCE_VERSION:
        raise RuntimeError(f"{venv} does not hold hayhooks {REFERENCE_VERSION} after installing it")
    return hayhooks


def _clean_env() -> dict:
    """The environment without anything that could redirect which `hayhooks` package Python imports."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONUSERBASE")
    }


def imported_hayhooks_dir(python: Path) -> Path | None:
    """The directory ``python`` imports the `hayhooks` package from (in a clean environment), or None."""
    if not python.exists():
        return None
    code = "import hayhooks, os; print(os.path.dirname(os.path.realpath(hayhooks.__file__)))"
    try:
        done = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=120, env=_clean_env(), cwd="/"
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.strip().splitlines()
    return Path(lines[-1]) if done.returncode == 0 and lines else None


def compile_bytecode(hayhooks_script: Path) -> None:
    """Write the .pyc files of the `hayhooks` package that ``hayhooks_script`` runs, as ``pip install`` does for
    a regular install. An editable install (ours) gets none, and where PYTHONDONTWRITEBYTECODE is set the server
    would compile its own modules at every start: a cost of the environment, not of the server. Done for both
    servers (the reference's install is compiled already), before every benchmark run."""
    python = hayhooks_script.parent / "python"
    package = imported_hayhooks_dir(python)
    if package is None:
        return
    done = subprocess.run(
        [str(python), "-m", "compileall", "-q", str(package)], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        log(f"compiling {package} to bytecode failed (measuring anyway): {done.stdout[-300:]}{done.stderr[-300:]}")


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def ensure_project_venv(repo: Path, venv: Path, reference_venv: Path) -> Path:
    """Our `hayhooks` script from ``venv``, a virtualenv that imports `hayhooks` from ``repo``/src.

    ``venv`` is used as it is when its Python already imports this repo's ``src/hayhooks`` (README's
    first command, or ``.ci/run``, made it so). Otherwise it is created if needed and the project is
    installed into it in editable mode with its mcp extra, as README's first command does
    (``pip install -e "<repo>[mcp]"``). The reference virtualenv is never used or touched here.
    Raises RuntimeError (or a subprocess error) when that does not give a working install.
    """
    if _is_within(venv, reference_venv) or _is_within(reference_venv, venv):
        raise RuntimeError(f"{venv} is (or holds) the reference virtualenv {reference_venv}: not installing there")
    python = venv / "bin" / "python"
    hayhooks = venv / "bin" / "hayhooks"
    source = (repo / "src" / "hayhooks").resolve()
    found = imported_hayhooks_dir(python)
    if hayhooks.exists() and found == source:
        log(f"ours: {hayhooks} (imports hayhooks from {source})")
        return hayhooks
    if not python.exists():
        log(f"ours: creating virtualenv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    elif found is None:
        log(f"ours: {venv} exists but its Python cannot import hayhooks")
    elif found != source:
        log(f"ours: {venv} imports hayhooks from {found}, not from this repo's {source}")
    log(f'ours: installing this project into {venv} (pip install -e "{repo}[mcp]"; a few minutes the first time)')
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f"{repo}[mcp]"],
        check=True,
        timeout=1800,
        env=_clean_env(),
    )
    found = imported_hayhooks_dir(python)
    if found != source or not hayhooks.exists():
        raise RuntimeError(f"{venv} does not import hayhooks from {source} after installing it (it gives {found})")
    log(f"ours: {hayhooks} (imports hayhooks from {source})")
    return hayhooks


def ensure_wrk() -> str:
    """Path of wrk, installing Debian's package if it is missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk not found: installing it with apt-get")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if subprocess.run(install, env=env, timeout=900).returncode != 0:
        log("apt-get install failed: running apt-get update first")
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, timeout=900)
        subprocess.run(install, env=env, check=True, timeout=900)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is still not on PATH after installing it")
    return found
