"""recras-sandbox: a faithful local stand-in for the Recras API2 customer endpoints.

The server speaks real HTTP on 127.0.0.1 and follows the Recras documentation
(see ``docs/sandbox.md``); :mod:`recras_sandbox.testing` starts it as a subprocess
for tests, benchmarks and demos.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
