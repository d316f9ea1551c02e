"""The repository's address is written once, in pyproject.toml's ``[project.urls]``.

Every GitHub address of this project in the README, CHANGELOG.md, docs/ and the Hub
definitions in hub/ (``github.com/<owner>/<name>...``, ``git+https://...git``,
``raw.githubusercontent.com/<owner>/<name>/<ref>/<path>``) is that repository, and the file or
heading it points at exists in this checkout. scripts/hub_definitions.py writes hub/ from
pyproject.toml; the prose is written by hand, so this test is what keeps it in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.documents.markdown import heading_anchors, relative_links
from support.documents.pyproject import project_metadata
from support.paths import ROOT

#: Other projects' repositories the documents cite (upstream issues): not addresses of this one.
OTHER_PROJECTS = {"meltano/sdk"}
#: Anything that looks like a GitHub address: up to a space, a closing bracket or a quote.
_GITHUB_URL = re.compile(
    r"(?:git\+)?https?://(?:www\.)?(?:github\.com|raw\.githubusercontent\.com)/[^\s)\]>`'\"<]+"
)
_GITHUB_HOSTS = {"github.com", "raw.githubusercontent.com"}


@dataclass(frozen=True)
class RepositoryAddress:
    """One GitHub address as written, and what it refers to."""

    written: str
    #: ``https://github.com/<owner>/<name>``, or the written origin when it is not that form.
    repository: str
    owner_and_name: str
    #: The repository's file the address shows (``blob/<ref>/...``, raw), ``""`` for none.
    path: str
    fragment: str

    @classmethod
    def parse(cls, written: str) -> RepositoryAddress:
        url = urlsplit(written.removeprefix("git+"))
        owner, name, *rest = url.path.strip("/").split("/")
        name = name.split("@")[0].removesuffix(".git")  # git+https://...git@v0.1.0
        if url.netloc == "raw.githubusercontent.com":
            path = "/".join(rest[1:])  # <ref>/<path>
        else:
            path = "/".join(rest[2:]) if rest[:1] in (["blob"], ["tree"], ["raw"]) else ""
        origin = (
            "https://github.com"
            if url.scheme == "https" and url.netloc in _GITHUB_HOSTS
            else f"{url.scheme}://{url.netloc}"
        )
        return cls(
            written=written,
            repository=f"{origin}/{owner}/{name}",
            owner_and_name=f"{owner}/{name}".lower(),
            path=path,
            fragment=url.fragment,
        )


def _documents() -> list[Path]:
    documents = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    documents += sorted((ROOT / "docs").rglob("*.md")) + sorted((ROOT / "hub").rglob("*.yml"))
    return documents


def _addresses(text: str) -> list[RepositoryAddress]:
    return [RepositoryAddress.parse(m.rstrip(".,;:")) for m in _GITHUB_URL.findall(text)]


@pytest.fixture(scope="module")
def repository() -> str:
    return str(project_metadata()["urls"]["Repository"])


@pytest.fixture(scope="module")
def addresses_by_document() -> dict[str, list[RepositoryAddress]]:
    """This project's addresses in each document (other projects' left out)."""
    return {
        str(path.relative_to(ROOT)): [
            address
            for address in _addresses(path.read_text(encoding="utf-8"))
            if address.owner_and_name not in OTHER_PROJECTS
        ]
        for path in _documents()
    }


def test_project_urls_are_all_of_the_repository(repository: str) -> None:
    urls = project_metadata()["urls"]
    assert {"Homepage", "Documentation", "Repository", "Issues"} <= set(urls)
    for label, url in urls.items():
        assert RepositoryAddress.parse(url).repository == repository, (label, url)


def test_every_address_of_the_project_is_the_one_in_pyproject(
    repository: str, addresses_by_document: dict[str, list[RepositoryAddress]]
) -> None:
    drifted = [
        f"{document}: {address.written}"
        for document, addresses in addresses_by_document.items()
        for address in addresses
        if address.repository != repository
    ]
    assert not drifted, (
        f"not pyproject.toml's Repository ({repository}); if it cites another project, "
        f"add it to OTHER_PROJECTS: {drifted}"
    )
    # The places that must carry it do (a pattern that no longer matches would pass above).
    for document in ("README.md", "docs/pypi.md", "hub/extractors/tap-recras.yml",
                     "hub/loaders/target-recras.yml"):  # fmt: skip
        assert addresses_by_document[document], f"{document} names no repository address"


def test_addresses_point_at_files_and_headings_that_exist(
    addresses_by_document: dict[str, list[RepositoryAddress]],
) -> None:
    project_urls = [RepositoryAddress.parse(url) for url in project_metadata()["urls"].values()]
    everywhere = [a for addresses in addresses_by_document.values() for a in addresses]
    for address in everywhere + project_urls:
        page = ROOT / (address.path or "README.md")  # the repository's page shows the README
        assert page.exists(), f"{address.written}: no {address.path} in the repository"
        if address.fragment and page.suffix == ".md":
            anchors = heading_anchors(page.read_text(encoding="utf-8"))
            if not address.path:
                anchors.add("readme")  # GitHub's own anchor of the README on the repository page
            assert address.fragment in anchors, f"{address.written}: no such heading"


def test_the_package_page_links_only_absolute_urls() -> None:
    """The long description (pyproject's ``readme``) is shown on the package index, where a
    repository-relative link or an in-page anchor leads nowhere."""
    readme = ROOT / project_metadata()["readme"]
    assert not relative_links(readme.read_text(encoding="utf-8"))
