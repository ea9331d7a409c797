"""Follow docs/getting-started.md's walkthrough literally: its shell commands, its files, its expected output.

Only the block between the ``walkthrough:start`` and ``walkthrough:end`` comments is followed. ``hayhooks run``
starts in the background; every other ``hayhooks`` command runs to completion and must match the ``text`` block
that follows it. The server and the CLI find each other through ``HAYHOOKS_HOST``/``HAYHOOKS_PORT``, the way a
user would point them elsewhere than localhost:1416.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from conftest import HAYHOOKS, ServerProcess, base_env, free_port

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def walkthrough_blocks() -> list[tuple[str, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("<!-- walkthrough:start")
    end = text.index("<!-- walkthrough:end -->")
    return [(match.group(1), match.group(2)) for match in _FENCE.finditer(text[start:end])]


@dataclass
class Walker:
    cwd: Path
    env: dict[str, str]
    base_url: str
    servers: list[ServerProcess] = field(default_factory=list)
    last_output: str | None = None

    def shell(self, line: str) -> None:
        words = shlex.split(line, comments=True)
        if not words:
            return
        if words[:2] == ["mkdir", "-p"]:
            for folder in words[2:]:
                (self.cwd / folder).mkdir(parents=True, exist_ok=True)
        elif words[0] == "cd":
            self.cwd = self.cwd / words[1]
        elif words[:2] == ["hayhooks", "run"]:
            self.start_server(words[1:])
        elif words[0] == "hayhooks":
            result = subprocess.run(
                [*HAYHOOKS, *words[1:]], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, f"`{line}` failed:\n{result.stderr}"
            self.last_output = result.stdout
        else:
            raise AssertionError(f"the walkthrough uses `{line}`, which this test does not know how to follow")

    def start_server(self, args: list[str]) -> None:
        port = int(self.env["HAYHOOKS_PORT"])
        log_path = self.cwd.parent / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [*HAYHOOKS, *args],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = ServerProcess(proc, port, log_path)
        self.servers.append(server)
        server.wait_ready()

    def write_file(self, source: str) -> None:
        first_line, _, body = source.partition("\n")
        assert first_line.startswith("# "), "a walkthrough code file starts with a '# path' comment"
        path = self.cwd / first_line[2:].strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")

    def expect(self, text: str) -> None:
        assert self.last_output is not None, "a text block must follow a command"
        expected = text.replace("http://localhost:1416", self.base_url)
        assert self.last_output.strip() == expected.strip()
        self.last_output = None


def test_the_getting_started_walkthrough_works_as_written(tmp_path: Path) -> None:
    blocks = walkthrough_blocks()
    assert [lang for lang, _ in blocks].count("bash") >= 3, "walkthrough markers lost?"
    port = free_port()
    env = base_env(HAYHOOKS_HOST="127.0.0.1", HAYHOOKS_PORT=str(port))
    walker = Walker(cwd=tmp_path, env=env, base_url=f"http://127.0.0.1:{port}")
    try:
        for lang, body in blocks:
            if lang == "bash":
                for line in body.splitlines():
                    walker.shell(line)
            elif lang == "python":
                walker.write_file(body)
            elif lang == "text":
                walker.expect(body)
        assert walker.servers, "the walkthrough never started a server"
        assert (walker.cwd / "pipelines" / "hello" / "pipeline_wrapper.py").is_file()
    finally:
        for server in walker.servers:
            server.stop()
