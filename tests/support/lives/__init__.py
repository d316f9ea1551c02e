"""Whole lives of the connectors for the property tests: runs in a row, their faults and kills,
and the checks of what every run left (no tests here)."""
