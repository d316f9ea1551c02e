"""The id map's public names: what ``target_recras.id_map`` exports is what the code imports.

As httpx does for its package: every public name of the package is in ``__all__``, and the
rest of the code imports the id map only through those names, never from its private
modules (``target_recras.id_map._sqlite`` and the like), so the imports say what is public.
"""

from __future__ import annotations

import ast

from support.paths import ROOT

from target_recras import id_map

PACKAGE = ROOT / "target_recras" / "id_map"
#: Code outside the package (tests and benchmarks may reach into private modules to check
#: or measure their parts).
IMPORTERS = ("recras_api", "tap_recras", "target_recras", "airbyte_recras", "scripts")


def _id_map_imports() -> list[tuple[str, str, str]]:
    """(file, module, name) for every import from the id map outside its package."""
    found = []
    for folder in IMPORTERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if PACKAGE in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    modules = [(node.module, alias.name) for alias in node.names]
                elif isinstance(node, ast.Import):
                    modules = [(alias.name, "") for alias in node.names]
                else:
                    continue
                found += [
                    (path.relative_to(ROOT).as_posix(), module, name)
                    for module, name in modules
                    if module.startswith("target_recras.id_map")
                ]
    return found


def test_every_public_name_of_the_package_is_exported() -> None:
    public = {name for name in vars(id_map) if not name.startswith("_")}
    assert sorted(id_map.__all__) == sorted(public)


def test_the_code_imports_the_id_map_only_through_its_exports() -> None:
    imports = _id_map_imports()
    assert imports, "nothing imports the id map: the scan is broken"
    private = [item for item in imports if item[1] != "target_recras.id_map"]
    assert private == []
    assert {name for _, _, name in imports} <= set(id_map.__all__)
