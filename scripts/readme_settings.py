"""Regenerate (or check) the generated sections of README.md.

* The settings tables are the ``Capabilities`` and ``Settings`` sections of
  ``tap-recras --about --format=markdown`` and ``target-recras --about --format=markdown``,
  placed between marker comments::

      <!-- BEGIN GENERATED: tap-recras --about --format=markdown -->
      ...
      <!-- END GENERATED: tap-recras --about --format=markdown -->

* The troubleshooting tables are the first table under ``## Troubleshooting`` of the docs
  the connectors' authors maintain (``docs/tap.md``, ``docs/target.md``)::

      <!-- BEGIN GENERATED: troubleshooting table of docs/tap.md -->
      ...
      <!-- END GENERATED: troubleshooting table of docs/tap.md -->

Usage::

    .venv/bin/python scripts/readme_settings.py          # rewrite README.md
    .venv/bin/python scripts/readme_settings.py --check  # exit 1 if README.md is stale

``tests/project/test_readme_settings.py`` runs the check, so the README cannot drift from the code.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable
from pathlib import Path

from hub_definitions import about_text

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PLUGINS = ("tap-recras", "target-recras")
#: Sections of the --about markdown that go into the README, in this order.
SECTIONS = ("Capabilities", "Settings")


def begin_marker(plugin: str) -> str:
    return f"<!-- BEGIN GENERATED: {plugin} --about --format=markdown -->"


def end_marker(plugin: str) -> str:
    return f"<!-- END GENERATED: {plugin} --about --format=markdown -->"


def sections(markdown: str) -> dict[str, str]:
    """The ``## <title>`` sections of the --about markdown, by title, bodies stripped."""
    found: dict[str, str] = {}
    parts = re.split(r"^## +(.+?)\s*$", markdown, flags=re.MULTILINE)
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        found[title.strip()] = body.strip()
    return found


def generated_block(plugin: str) -> str:
    """What the README holds between the markers for ``plugin``."""
    found = sections(about_text(plugin, "markdown"))
    missing = [title for title in SECTIONS if title not in found]
    if missing:
        msg = f"{plugin} --about --format=markdown has no section(s) {missing}"
        raise RuntimeError(msg)
    body = "\n\n".join(f"#### {title}\n\n{found[title]}" for title in SECTIONS)
    # The SDK's closing hint ("A full list of supported settings ...") is not a section.
    body = re.sub(r"\n+A full list of supported settings.*$", "", body, flags=re.DOTALL)
    return f"{begin_marker(plugin)}\n\n{body}\n\n{end_marker(plugin)}"


_DOC_BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED: troubleshooting table of (?P<doc>\S+) -->)"
    r".*?"
    r"(<!-- END GENERATED: troubleshooting table of (?P=doc) -->)",
    flags=re.DOTALL,
)


def troubleshooting_table(doc: str) -> str:
    """The first Markdown table under ``## Troubleshooting`` in ``doc`` (relative to ROOT)."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    found = sections(text).get("Troubleshooting")
    if found is None:
        msg = f"{doc} has no '## Troubleshooting' section"
        raise RuntimeError(msg)
    lines = found.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
    if start is None:
        msg = f"{doc}: no table under '## Troubleshooting'"
        raise RuntimeError(msg)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def render_docs(readme: str) -> str:
    """``readme`` with every troubleshooting block copied fresh from its doc."""

    def fill(match: re.Match[str]) -> str:
        table = troubleshooting_table(match.group("doc"))
        return f"{match.group(1)}\n\n{table}\n\n{match.group(3)}"

    return _DOC_BLOCK.sub(fill, readme)


def render(readme: str) -> str:
    """``readme`` with every generated block replaced by a fresh one."""
    readme = render_docs(readme)
    for plugin in PLUGINS:
        pattern = re.compile(
            re.escape(begin_marker(plugin)) + r".*?" + re.escape(end_marker(plugin)),
            flags=re.DOTALL,
        )
        if not pattern.search(readme):
            msg = f"README.md lacks the markers {begin_marker(plugin)} ... {end_marker(plugin)}"
            raise RuntimeError(msg)
        block = generated_block(plugin)
        # A function, not the text: the table may contain backslashes (regex escapes).
        readme = pattern.sub(_constant(block), readme)
    return readme


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    def replace(_match: re.Match[str]) -> str:
        return text

    return replace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is stale")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    current = args.readme.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                fresh.splitlines(keepends=True),
                fromfile="README.md",
                tofile="README.md (regenerated)",
            )
            sys.stdout.writelines(diff)
            print(
                "\nREADME.md settings tables are stale: run "
                ".venv/bin/python scripts/readme_settings.py",
                file=sys.stderr,
            )
            return 1
        print("README.md settings tables are up to date")
        return 0
    if fresh != current:
        args.readme.write_text(fresh, encoding="utf-8")
        print(f"rewrote the generated sections of {args.readme}")
    else:
        print(f"{args.readme} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
