"""No file of the repository cites a path outside it: a clone has nothing beside it.

Notes the project was started from lived beside the checkout once (``../shared/...``, or by
the absolute path of the machine they were on); what the code relies on is in
``docs/vendor/`` now, and every citation must name a file a clone has.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from support.paths import ROOT

#: A path outside the checkout: the work directory of the machine the project began on (the
#: checkouts and the notes were in it), or the notes beside the checkout.
OUTSIDE = re.compile(r"/work/|\.\./shared\b")
#: A citation of a vendor note, from anywhere in the repository.
VENDOR_NOTE = re.compile(r"docs/vendor/([\w.-]+\.(?:md|txt))")


def _repository_names() -> list[str]:
    """Tracked files and new ones not ignored (a file about to be committed counts too)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return sorted({name for name in listed.decode().split("\0") if name})


def _repository_files() -> list[Path]:
    return [ROOT / name for name in _repository_names() if (ROOT / name).is_file()]


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:  # binary: a database, an image
        return None
    return data.decode("utf-8", errors="replace")


def test_no_file_cites_a_path_outside_the_repository() -> None:
    this_file = Path(__file__).resolve()
    files = [path for path in _repository_files() if path.resolve() != this_file]
    assert len(files) > 100, "git ls-files listed too few files to be this repository"
    found = []
    for path in files:
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_every_vendor_note_cited_is_there_with_where_it_comes_from() -> None:
    cited: set[str] = set()
    for path in _repository_files():
        text = _text(path)
        if text is not None:
            cited.update(VENDOR_NOTE.findall(text))
    assert {"recras-api.md", "recras-klanten-endpoint.txt"} <= cited, cited
    for name in sorted(cited):
        note = ROOT / "docs" / "vendor" / name
        assert note.is_file(), f"docs/vendor/{name} is cited but not in the repository"
        header = note.read_text(encoding="utf-8")[:400]
        assert "copied verbatim" in header, f"docs/vendor/{name} does not say where it is from"


def test_no_file_is_a_link_out_of_the_repository() -> None:
    """A worktree links the shared peer venvs in (``ln -s``): those links are never files.

    ``.venv*/`` ignored directories only; links to them were committed once, and merging
    that commit replaced a checkout's real venvs with links to themselves.
    """
    links = [
        name
        for name in _repository_names()
        if (ROOT / name).is_symlink() and not _inside(ROOT / name)
    ]
    assert links == [], f"links out of the repository would be committed: {links}"


def _inside(link: Path) -> bool:
    return link.resolve().is_relative_to(ROOT.resolve())
