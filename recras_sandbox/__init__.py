"""recras-sandbox: a faithful local stand-in for the Recras API2 customer endpoints.

The server speaks real HTTP on 127.0.0.1 and follows the Recras documentation
(see ``docs/sandbox.md``); :mod:`recras_sandbox.testing` starts it as a subprocess
for tests, benchmarks and demos.
"""

from importlib import metadata

__all__ = ["__version__"]

#: The package's version, written once (pyproject.toml).
__version__ = metadata.version("recras-singer")
