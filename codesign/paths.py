"""Where codesign keeps caches and stores by default (overridable by environment)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STORE_URL = "sqlite:///codesign.db"


def cache_dir() -> Path:
    """Root of the model cache: ``$CODESIGN_CACHE`` or ``~/.cache/codesign``."""
    root = os.environ.get("CODESIGN_CACHE")
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "codesign"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_cache_dir() -> Path:
    """The cache root checked before a command creates or measures anything: a file in its
    place, a folder that cannot be written or a name too long is one line (exit 2)."""
    from codesign.cli_common import writable_folder

    root = os.environ.get("CODESIGN_CACHE")
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "codesign"
    return writable_folder(path, "$CODESIGN_CACHE" if root else "the cache folder")


def default_store_url() -> str:
    """``$CODESIGN_STORE`` or a SQLite file in the working directory."""
    return os.environ.get("CODESIGN_STORE", DEFAULT_STORE_URL)
