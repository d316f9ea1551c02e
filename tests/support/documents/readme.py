"""The README's commands as a user runs them: a section's text (its fenced blocks:
:func:`support.documents.markdown.fenced_blocks`), and a shell session that runs them one after
another as in one terminal."""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.paths import ROOT

README = ROOT / "README.md"


def section(heading: str) -> str:
    """README.md's text under ``## <heading>``, up to the next heading of that or a higher level."""
    text = README.read_text(encoding="utf-8")
    start = re.search(rf"^## {re.escape(heading)}\n", text, re.MULTILINE)
    assert start, f"README.md has no section '## {heading}'"
    end = re.compile(r"^#{1,2} ", re.MULTILINE).search(text, start.end())
    return text[start.end() : end.start() if end else len(text)]


@dataclass(frozen=True)
class ShellSession:
    """Bash snippets run one after another, each seeing the working directory and the exported
    variables the one before left, as commands typed into one terminal.

    Each snippet runs in a fresh ``bash`` with ``set -euo pipefail`` (the first failing command
    fails the snippet), so a test can act between snippets. ``state`` holds the session's
    working directory and ``export -p`` between snippets.
    """

    state: Path
    env: dict[str, str]

    @classmethod
    def start(cls, workdir: Path, state: Path, env: dict[str, str]) -> ShellSession:
        """A session that starts in ``workdir`` with ``env``; its state goes to ``state``."""
        state.mkdir(parents=True, exist_ok=True)
        (state / "cwd").write_text(str(workdir), encoding="utf-8")
        (state / "env").write_text("", encoding="utf-8")
        return cls(state=state, env=env)

    @property
    def cwd(self) -> Path:
        """The working directory the last snippet left."""
        return Path((self.state / "cwd").read_text(encoding="utf-8").rstrip("\n"))

    def run(self, snippet: str, timeout: float = 420) -> str:
        """Run ``snippet``; its output (stdout and stderr, interleaved). Fails the test with the
        snippet and its output unless every command succeeds."""
        cwd, env = (shlex.quote(str(self.state / name)) for name in ("cwd", "env"))
        script = (
            f'cd "$(cat {cwd})" && source {env}\nset -euo pipefail\n{snippet}\n'
            f"pwd > {cwd} && export -p > {env}\n"
        )
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"this README block failed:\n{snippet}\n---\n{done.stdout}"
        return done.stdout
