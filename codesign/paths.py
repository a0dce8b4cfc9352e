"""Where codesign keeps caches and stores by default (overridable by environment)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from codesign.errors import CodesignError

DEFAULT_STORE_URL = "sqlite:///codesign.db"


def _cache_root() -> Path:
    root = os.environ.get("CODESIGN_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "codesign"


def cache_dir() -> Path:
    """Root of the model cache: ``$CODESIGN_CACHE`` or ``~/.cache/codesign``."""
    path = _cache_root()
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_cache_dir() -> Path:
    """The cache root checked before a command creates or measures anything: a file in its
    place, a folder that cannot be written or a name too long is one line (exit 2)."""
    flag = "$CODESIGN_CACHE" if os.environ.get("CODESIGN_CACHE") else "the cache folder"
    return writable_folder(_cache_root(), flag)


def default_store_url() -> str:
    """``$CODESIGN_STORE`` or a SQLite file in the working directory."""
    return os.environ.get("CODESIGN_STORE", DEFAULT_STORE_URL)


def writable_folder(path: Path, flag: str) -> Path:
    """Refuse an output folder that cannot be made or written, before any work (nothing is
    left behind: a probe file is made and removed in the nearest existing folder)."""
    path = Path(path).expanduser()
    check_path_length(path, flag)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise CodesignError(f"{flag} {path}: {probe} is a file, not a folder")
    try:
        with tempfile.TemporaryDirectory(dir=probe, prefix=".codesign-probe-"):
            pass
    except OSError as exc:
        raise CodesignError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def check_path_length(path: Path, flag: str) -> None:
    """A name longer than the file system allows (ENAMETOOLONG) is refused in one line, before
    anything is made: each part at most NAME_MAX bytes, the whole at most PATH_MAX."""
    name_max, path_max = 255, 4096
    for part in Path(path).parts:
        if len(os.fsencode(part)) > name_max:
            raise CodesignError(
                f"{flag}: the name {part[:40]}… is {len(os.fsencode(part))} bytes long; a file "
                f"or folder name may have at most {name_max}"
            )
    if len(os.fsencode(str(Path(path).absolute()))) > path_max:
        raise CodesignError(f"{flag}: the path is longer than {path_max} bytes")
