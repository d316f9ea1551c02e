"""The README's sections and code blocks, for tests that run its examples as written."""

from __future__ import annotations

import re

from support.paths import ROOT

README = ROOT / "README.md"


def section(title: str, readme: str | None = None) -> str:
    """The text of the ``## title`` section, up to the next ``## `` heading."""
    text = README.read_text(encoding="utf-8") if readme is None else readme
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` in ``text``, in order."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)
