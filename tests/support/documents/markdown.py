"""Links and headings of markdown, read the way GitHub and the package index render them.

Fenced code blocks are left out: a shell snippet's ``<(echo ...)`` or ``# comment`` is
neither a link nor a heading.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

#: A fenced code block: its fence, the first word of its info string, its body.
_FENCED_BLOCK = re.compile(
    r"^(?P<fence>```|~~~)(?P<language>\S*)[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    flags=re.DOTALL | re.MULTILINE,
)
#: ``[text](target "title")`` and ``![alt](target)``.
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
#: ``[label]: target`` on a line of its own.
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)", flags=re.MULTILINE)
#: ``<a href="...">`` and ``<img src="...">``.
_HTML_ATTRIBUTE = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", flags=re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", flags=re.MULTILINE)


def prose(markdown: str) -> str:
    """``markdown`` without its fenced code blocks."""
    return _FENCED_BLOCK.sub("", markdown)


def fenced_blocks(markdown: str, language: str) -> list[str]:
    """The bodies of the fenced code blocks of ``language`` (the fence's info string), in order."""
    return [m["body"] for m in _FENCED_BLOCK.finditer(markdown) if m["language"] == language]


def link_targets(markdown: str) -> list[str]:
    """Every link and image target: inline, reference definitions, HTML ``href`` and ``src``."""
    text = prose(markdown)
    return [
        target
        for pattern in (_INLINE_LINK, _REFERENCE_DEFINITION, _HTML_ATTRIBUTE)
        for target in pattern.findall(text)
    ]


def relative_links(markdown: str) -> list[str]:
    """The targets a page shown elsewhere (the package index) cannot follow: those without a
    scheme, files of the repository and in-page ``#anchors`` alike."""
    return [target for target in link_targets(markdown) if not urlsplit(target).scheme]


def heading_anchors(markdown: str) -> set[str]:
    """The ``#fragment`` GitHub gives each heading: lower case, punctuation dropped, spaces
    turned into hyphens, and ``-1``, ``-2``... after the second and later of the same text."""
    anchors: set[str] = set()
    seen: Counter[str] = Counter()
    for heading in _HEADING.findall(prose(markdown)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return anchors
