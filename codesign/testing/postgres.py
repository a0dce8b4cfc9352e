"""A new, empty database on a PostgreSQL server, for tests and benchmarks that must not share
rows with anything else on it (the search's tests refuse a store holding several models)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path


def fresh_database(server_url: str, prefix: str = "codesign") -> str:
    """Create a database named ``prefix_<random>`` on the server of ``server_url`` (its user
    needs CREATEDB) and return the same URL pointing at it."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


class LocalServer:
    """A throwaway PostgreSQL server of its own in ``folder`` on a free loopback port, that a
    test can stop and start again (a database outage mid-run), as
    scripts/postgres-for-tests.sh starts one: Debian's server binaries; as root, run as the
    ``postgres`` user. ``available()`` says whether the binaries are here."""

    def __init__(self, folder: Path | None = None) -> None:
        import socket
        import tempfile

        # not under pytest's tmp_path: the postgres user must reach it (/tmp/pytest-of-root
        # is its owner's alone)
        self.folder = Path(folder or tempfile.mkdtemp(prefix="codesign-pg."))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql+psycopg://codesign@127.0.0.1:{self.port}/codesign"

    @staticmethod
    def binaries() -> Path | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        return found[-1].parent if found else None

    @classmethod
    def available(cls) -> bool:
        return cls.binaries() is not None and (os.geteuid() != 0 or shutil.which("runuser"))

    def _run(self, *argv: str) -> None:
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_user, *argv], check=True, capture_output=True, timeout=120)

    def create(self) -> LocalServer:
        """initdb, start, and create the database ``codesign``."""
        bin_ = self.binaries()
        assert bin_ is not None, "no PostgreSQL server binaries"
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "postgres", str(self.folder)], check=True)
        self._run(str(bin_ / "initdb"), "-D", str(self.folder / "data"), "-U", "codesign",
                  "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        self.start()
        self._run(str(bin_ / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                  "codesign", "codesign")  # fmt: skip
        return self

    def start(self) -> None:
        self._run(str(self.binaries() / "pg_ctl"), "-D", str(self.folder / "data"), "-l",
                  str(self.folder / "server.log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off",
                  "start")  # fmt: skip

    def stop(self) -> None:
        """As a crash or a host going away would: immediately, connections dropped."""
        self._run(str(self.binaries() / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                  "immediate", "-w", "stop")  # fmt: skip

    def remove(self) -> None:
        """Stop it if it runs and delete its folder."""
        import contextlib

        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
