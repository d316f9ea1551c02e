"""Helpers shared by the test modules (no tests here): import them as ``support.<module>``.

pyproject.toml puts ``tests/`` and ``scripts/`` on pytest's ``pythonpath``, so this package and
the scripts the tests drive (``pgcluster``, ``recras_demo``, ``hub_definitions``) import by
name; test modules are imported with ``--import-mode=importlib`` and never import each other.
"""
