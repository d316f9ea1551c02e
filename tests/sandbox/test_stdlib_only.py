"""recras_sandbox runs on the standard library alone.

Users install the package to test their own code against the sandbox; its modules must
import nothing outside the standard library (typing-only names stay under TYPE_CHECKING,
as ``override`` in server.py does). A fresh interpreter imports every module and reports
what the imports added to ``sys.modules`` beyond the standard library.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import recras_sandbox

#: Run in a fresh ``-I`` interpreter: import the given modules, print the top-level names of
#: the modules they loaded that are neither standard library nor recras_sandbox itself.
IMPORT_AND_REPORT = """
import importlib, json, sys
before = set(sys.modules)
for name in sys.argv[1:]:
    importlib.import_module(name)
added = {name.partition(".")[0] for name in set(sys.modules) - before}
print(json.dumps(sorted(added - sys.stdlib_module_names - {"recras_sandbox"})))
"""


def test_every_module_imports_only_the_standard_library() -> None:
    modules = [
        info.name for info in pkgutil.walk_packages(recras_sandbox.__path__, "recras_sandbox.")
    ]
    assert "recras_sandbox.testing" in modules and "recras_sandbox.server" in modules
    # The package itself is imported by name, first, so its own imports count too.
    command = [sys.executable, "-I", "-c", IMPORT_AND_REPORT, "recras_sandbox", *modules]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(result.stdout) == []
