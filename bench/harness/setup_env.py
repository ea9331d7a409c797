"""Preparing the machine: the reference's own virtualenv, and wrk."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REFERENCE_REQUIREMENT = "hayhooks[mcp]==2.1.0"
REFERENCE_VERSION = "2.1.0"


def _log(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def _installed_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('hayhooks'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_reference_venv(venv: Path) -> Path:
    """Create ``venv`` with the reference Hayhooks release in it; returns its `hayhooks` script.

    The reference goes into this separate virtualenv only: it has the same package name as our
    project, so it must never be installed into the project's environment.
    """
    hayhooks = venv / "bin" / "hayhooks"
    if hayhooks.exists() and _installed_version(venv) == REFERENCE_VERSION:
        return hayhooks
    if not (venv / "bin" / "python").exists():
        _log(f"creating virtualenv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    _log(f"installing {REFERENCE_REQUIREMENT} into {venv} (a few minutes the first time)")
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


def ensure_wrk() -> str:
    """Path of wrk, installing Debian's package if it is missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    _log("wrk not found: installing it with apt-get")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if subprocess.run(install, env=env, timeout=900).returncode != 0:
        _log("apt-get install failed: running apt-get update first")
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, timeout=900)
        subprocess.run(install, env=env, check=True, timeout=900)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is still not on PATH after installing it")
    return found
