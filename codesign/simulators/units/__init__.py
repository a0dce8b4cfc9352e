"""Bundled compute-unit specs (YAML), one file per preset; the file name is the unit's name."""
