"""JSON schemas of the tap's streams, one ``<stream>.json`` each (package data)."""
