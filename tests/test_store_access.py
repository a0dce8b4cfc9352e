"""A store another process is writing, or one this process may not write: one line, the right
exit code, the store unchanged; and a store opened by a reading command is opened read-only."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from codesign.store import Store
from tests.search.conftest import synthetic_db  # noqa: F401 - the session's synthetic store


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_store_locked_by_another_process_is_one_line_naming_it(synthetic_db, tmp_path):  # noqa: F811
    db = tmp_path / "store.db"
    shutil.copy(synthetic_db, db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process's long write
    before = _digest(db)
    argv = [sys.executable, "-m", "codesign.search", "--store", f"sqlite:///{db}"]
    argv += ["--no-measure", "--n-trials", "2", "--out", str(tmp_path / "out")]
    env = dict(os.environ, CODESIGN_STORE_LOCK_WAIT_S="2")
    start = time.monotonic()
    try:
        run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1, run.stderr
    assert len(lines) == 1, run.stderr
    assert "stayed locked by another process's write for 2 s" in lines[0]
    assert f"pid {os.getpid()}" in lines[0]  # who holds it, read from /proc
    assert time.monotonic() - start < 120
    assert _digest(db) == before


def _make_unwritable(path: Path) -> None:
    """Read-only for this process: permissions, or (as root, whom permissions do not stop) the
    immutable flag; skipped where neither can be set."""
    path.chmod(0o444)
    try:
        with open(path, "r+b"):
            pass
    except OSError:
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot make a file read-only for this user here (root without chattr)")


def _writable_again(path: Path) -> None:
    subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o644)


def test_a_read_only_store_is_refused_before_work_and_read_by_reading_commands(
    synthetic_db,  # noqa: F811
    tmp_path,
):
    db = tmp_path / "store.db"
    shutil.copy(synthetic_db, db)
    _make_unwritable(db)
    try:
        before = _digest(db)
        writing = [sys.executable, "-m", "codesign.measurements", "evaluate", "--suites"]
        writing += ["ethics", "--store", f"sqlite:///{db}"]
        run = subprocess.run(writing, capture_output=True, text=True, timeout=300)
        lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
        assert run.returncode == 2 and len(lines) == 1, run.stderr
        assert "is read-only" in lines[0] and "nothing was done" in lines[0]
        reading = [sys.executable, "-m", "codesign.measurements", "list", "--store"]
        run = subprocess.run([*reading, f"sqlite:///{db}"], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert "7 variants" in run.stdout
        assert _digest(db) == before
    finally:
        _writable_again(db)


def test_a_reading_command_cannot_write_even_by_mistake(synthetic_db, tmp_path):  # noqa: F811
    db = tmp_path / "store.db"
    shutil.copy(synthetic_db, db)
    store = Store(f"sqlite:///{db}", read_only=True)
    assert store.counts()["variants"] == 7
    with pytest.raises(OperationalError, match="readonly"), store.session() as s:
        s.execute(text("delete from predictions"))
    assert Store(f"sqlite:///{db}", read_only=True).counts()["predictions"] > 0


PG = os.environ.get("CODESIGN_TEST_POSTGRES_URL")


@pytest.mark.skipif(not PG, reason="no PostgreSQL server: .ci/run sets CODESIGN_TEST_POSTGRES_URL")
def test_a_reading_command_cannot_write_on_postgresql_either():
    """PostgreSQL: a read-only store's sessions are READ ONLY, so the server refuses a write;
    a database of another application is refused before anything is created in it."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    from codesign.errors import CodesignError
    from codesign.testing.postgres import fresh_database

    url = fresh_database(PG, "codesign_readonly")
    Store(url).upsert_model("fp", "tiny", "dense", "test", {"hidden_size": 8})
    reading = Store(url, read_only=True)
    with pytest.raises(DBAPIError, match="read-only transaction"), reading.session() as s:
        s.execute(text("delete from models"))
    assert Store(url, read_only=True).counts()["models"] == 1
    other = fresh_database(PG, "codesign_foreign")
    engine = create_engine(other)
    with engine.begin() as conn:
        conn.execute(text("create table users (id integer)"))
    with pytest.raises(CodesignError, match="is not a codesign store"):
        Store(other)
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                text("select tablename from pg_tables where schemaname='public'")
            ).scalars()
        )
    assert tables == {"users"}
    engine.dispose()
