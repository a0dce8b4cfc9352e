"""A process that holds a SQLite store open must never close another descriptor of the file:
POSIX advisory locks belong to the process, so closing any descriptor drops the locks of every
connection the process holds. Another process closing its last connection then believes it is
the last one, checkpoints and deletes the WAL under the first process's feet ("database disk
image is malformed": a cold `make run` failed this way when each in-process phase re-checked
that the store file was writable by opening it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from codesign.store import Store

WRITE_AND_EXIT = """
import sys
from codesign.store import Store
store = Store(sys.argv[1])
store.upsert_model("fp-other", "other", "dense", "test", {})
"""


def test_reopening_a_store_in_process_keeps_the_locks_other_processes_see(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    held = Store(url)
    with held.engine.connect() as conn:  # a pooled connection stays open, holding its lock
        conn.exec_driver_sql("SELECT count(*) FROM models").all()
    Store(url)  # a phase run in the same process opens the same store again
    Store(url, read_only=True)  # and a reading command (measurements list)
    done = subprocess.run(
        [sys.executable, "-c", WRITE_AND_EXIT, url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    # the other process saw this one still connected: the WAL stays, and reading works
    assert (tmp_path / "store.db-wal").exists()
    with held.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM models").scalar() == 1
    assert subprocess.run(
        [sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
         "assert c.execute('pragma integrity_check').fetchone()[0] == 'ok'",
         str(tmp_path / "store.db")],
        timeout=60,
    ).returncode == 0  # fmt: skip
