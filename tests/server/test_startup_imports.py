"""What loading the server imports: libraries only some setups need load when first used, not at startup."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import base_env

# Rate limiting, wrapper docstrings, CLI tables, and Haystack (with PyYAML and rich, which it loads): a server
# with no pipeline deployed yet never needs them.
LAZY_MODULES = ("limits", "docstring_parser", "haystack", "yaml", "rich")

LOAD_SERVER = """\
import json, sys
import hayhooks.cli, hayhooks.process.supervisor
from hayhooks.server.app import create_app
create_app()
print(json.dumps(sorted(sys.modules)))
"""


def test_loading_the_server_leaves_optional_libraries_unloaded(tmp_path) -> None:
    env = base_env(HAYHOOKS_PIPELINES_DIR=str(tmp_path / "pipelines"))
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SERVER], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert not loaded & set(LAZY_MODULES)
