"""The measurement store: one SQLAlchemy URL holds models, variants, profiles and predictions.

SQLite by default, PostgreSQL works the same. Every write is one transaction and every
natural key is UNIQUE, so a run killed at any moment resumes without duplicate rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from codesign.errors import CodesignError, chain

SCHEMA_VERSION = 4
SCHEMA_LOCK_KEY = 0x636F6465  # PostgreSQL advisory lock serialising schema creation ("code")
STORE_RETRY_S = 120.0  # how long an unreachable PostgreSQL server is waited for


def store_retry_s() -> float:
    """Seconds to wait for an unreachable store server ($CODESIGN_STORE_RETRY_S)."""
    try:
        return max(0.0, float(os.environ.get("CODESIGN_STORE_RETRY_S", STORE_RETRY_S)))
    except ValueError:
        return STORE_RETRY_S


class StoreUnreachable(CodesignError):
    """The store's server went away and did not come back in time: not a bug, not bad input;
    everything committed before is kept."""

    exit_code = 1

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"the store at {redacted_url(url)} is unreachable: {reason}; rerun when it is back: "
            "nothing stored was lost"
        )


def _unreachable(exc: BaseException) -> bool:
    """Whether a driver error means the server cannot be reached (refused, closed, shut down),
    rather than a problem with a statement. PostgreSQL only: a SQLite file has no server."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    if isinstance(orig, psycopg.OperationalError):
        return True
    return isinstance(orig, psycopg.errors.AdminShutdown | psycopg.errors.CannotConnectNow)


EMPTY = "holds no codesign data"
_OPENED: list[str] = []  # the URLs of the stores this process opened, for messages


def unreachable_error(exc: BaseException) -> StoreUnreachable | None:
    """``exc`` as StoreUnreachable when a database server that went away caused it anywhere in
    its chain (Optuna's storage wraps the driver's error in its own), else None."""
    for cause in chain(exc):
        if isinstance(cause, StoreUnreachable):
            return cause
        if isinstance(cause, DBAPIError) and _unreachable(cause):
            where = _OPENED[-1] if _OPENED else "its URL"
            return StoreUnreachable(where, _first_line(cause))
    return None


class StoreBusy(CodesignError):
    """Another process held the store's write lock past LOCK_WAIT_S: a passing state of the
    machine, not bad input (exit 1, as an unreachable server)."""

    exit_code = 1


def store_refusal(exc: BaseException) -> CodesignError | None:
    """A SQLite store that another process kept locked past LOCK_WAIT_S, or that cannot be
    written (a read-only file, folder or mount), as one line naming the store and, where
    /proc tells, the processes holding it; None for any other error."""
    where = _OPENED[-1] if _OPENED else "the store"
    for cause in chain(exc):
        message = str(getattr(cause, "orig", None) or cause).lower()
        if "database is locked" in message or "database table is locked" in message:
            held = _holders(where)
            return StoreBusy(
                f"the store {redacted_url(where)} stayed locked by another process's write for "
                f"{lock_wait_s():g} s{held}; nothing stored was lost: rerun when it is free "
                "(or wait longer: $CODESIGN_STORE_LOCK_WAIT_S)"
            )
        if "readonly database" in message or "read-only file system" in message:
            return CodesignError(
                f"the store {redacted_url(where)} cannot be written (a read-only file, folder or "
                "mount); nothing stored was changed"
            )
    return None


def _holders(url: str) -> str:
    """ " (held by pid 123: python -m …)" for the other processes with the SQLite file open,
    read from /proc (Linux); empty where that cannot be told."""
    file = sqlite_file(url)
    if file is None:
        return ""
    try:
        target = file.resolve()
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            if int(proc.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if any(Path(os.readlink(fd)) == target for fd in (proc / "fd").iterdir()):
                    argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
                    cmd = " ".join(argv.decode(errors="replace").split())
                    found.append(f"pid {proc.name}: {cmd[:60]}")
    except OSError:
        return ""
    return f" (held by {'; '.join(found[:3])})" if found else ""


def _lost_schema_race(exc: BaseException) -> bool:
    """A concurrent schema creation got there first: the table, type or meta row exists."""
    text_ = str(getattr(exc, "orig", exc)).lower()
    return any(
        s in text_
        for s in ("already exists", "duplicate key", "unique constraint", "database is locked")
    )


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class Meta(Base):
    """Key/value facts about the store itself (the schema version)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ModelRow(Base):
    """A base model whose variants are measured (identified by a content fingerprint)."""

    __tablename__ = "models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    baseline: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class VariantRow(Base):
    """One quantized (or dense) variant of a model; ``key`` is the full recipe's hash."""

    __tablename__ = "variants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    method: Mapped[str] = mapped_column(Text)
    bits: Mapped[int] = mapped_column(Integer)
    group_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    calibration: Mapped[str] = mapped_column(Text)
    backend: Mapped[str] = mapped_column(Text)
    backend_version: Mapped[str] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    weight_bytes_disk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quantize_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ProfileRow(Base):
    """Latency and memory of one variant under one stated workload on one device."""

    __tablename__ = "profiles"
    __table_args__ = (UniqueConstraint("variant_id", "workload", "device"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    workload: Mapped[str] = mapped_column(Text)
    device: Mapped[str] = mapped_column(Text)
    dtype: Mapped[str] = mapped_column(Text)
    kernel: Mapped[str] = mapped_column(Text)
    real_low_bit: Mapped[bool] = mapped_column(Boolean)
    synthetic_weights: Mapped[bool] = mapped_column(Boolean, default=False)
    prompt_len: Mapped[int] = mapped_column(Integer)
    decode_tokens: Mapped[int] = mapped_column(Integer)
    batch_size: Mapped[int] = mapped_column(Integer)
    repeats: Mapped[int] = mapped_column(Integer)
    prefill_ms: Mapped[float] = mapped_column(Float)
    prefill_ms_iqr: Mapped[float] = mapped_column(Float)
    decode_ms_per_token: Mapped[float] = mapped_column(Float)
    decode_ms_per_token_iqr: Mapped[float] = mapped_column(Float)
    tokens_per_s: Mapped[float] = mapped_column(Float)
    weight_bytes_memory: Mapped[int] = mapped_column(Integer)
    peak_memory_bytes: Mapped[int] = mapped_column(Integer)
    memory_method: Mapped[str] = mapped_column(Text)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    # this host's numpy copy bandwidth and fp32 matmul rate, measured with the profile (CPU)
    host_bandwidth_gbs: Mapped[float | None] = mapped_column(Float, nullable=True)
    host_peak_tflops: Mapped[float | None] = mapped_column(Float, nullable=True)
    # the variant's kernel terms on this host (measurements.kernel_probe), CPU profiles only
    host_kernels: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class VariantMetricRow(Base):
    """One measured property of a variant's weights (e.g. its relative logits error against
    the dense model), with how it was measured."""

    __tablename__ = "variant_metrics"
    __table_args__ = (UniqueConstraint("variant_id", "metric"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    metric: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PredictionRow(Base):
    """One item's generation by one variant: raw text, parsed label, refusal flag, tokens."""

    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("variant_id", "suite", "item_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    suite: Mapped[str] = mapped_column(Text, index=True)
    item_id: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    refused: Mapped[bool] = mapped_column(Boolean)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    generated_tokens: Mapped[int] = mapped_column(Integer)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class WorkUnitRow(Base):
    """One unit of a measuring command's work (a variant to quantize, a variant's suite to
    evaluate), shared by every worker on every host that runs the same command on this store.
    ``job`` names the command's work (kind and the options that shape results), ``key`` the
    unit within it; a worker claims a pending unit, or one whose lease ran out, by a
    conditional update (codesign.jobs.queue)."""

    __tablename__ = "work_units"
    __table_args__ = (UniqueConstraint("job", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    job: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(Text)
    describe: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    owner: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)  # epoch seconds
    claimed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # of the finished run
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


@dataclass(frozen=True)
class Prediction:
    """What an evaluation writes for one item (the row without ids and timestamps)."""

    suite: str
    item_id: str
    raw: str
    label: str
    refused: bool
    prompt_tokens: int
    generated_tokens: int
    extra: dict[str, Any] | None = None


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite store on disk named by ``url``; None for other databases, memory
    and ``file:`` URIs (which the URL's own parameters govern), or a URL that does not parse."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database or ""
    if not parsed.drivername.startswith("sqlite") or database in ("", ":memory:"):
        return None
    return None if database.startswith("file:") else Path(database)


LOCK_WAIT_S = 60.0  # how long a SQLite store locked by another process's write is waited for


def lock_wait_s() -> float:
    """Seconds to wait for a SQLite store another process is writing
    ($CODESIGN_STORE_LOCK_WAIT_S, default 60), before one line says who holds it."""
    try:
        return max(0.1, float(os.environ.get("CODESIGN_STORE_LOCK_WAIT_S", LOCK_WAIT_S)))
    except ValueError:
        return LOCK_WAIT_S


def _read_only_url(url: str) -> str:
    """A SQLite URL opened read-only (``mode=ro``): a command that only reads can never change
    the file, whatever its code does. Other databases: the URL itself (see _read_only_session)."""
    from urllib.parse import quote

    from sqlalchemy.engine import make_url

    path = sqlite_file(url)
    if path is None:
        return url
    return f"{make_url(url).drivername}:///file:{quote(str(path.absolute()))}?mode=ro&uri=true"


def _read_only_session(dbapi_conn: Any, _record: Any) -> None:
    """PostgreSQL: every transaction of this connection is READ ONLY (the server refuses any
    write a reading command might attempt)."""
    cur = dbapi_conn.cursor()
    cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    cur.close()
    dbapi_conn.commit()


def _schema_marker(conn: Connection, tables: set[str], where: str) -> str | None:
    """The schema version codesign wrote into the store, or None where there is none. A ``meta``
    table of another shape, or one with rows but no version, belongs to another application."""
    if "meta" not in tables:
        return None
    columns = {c["name"] for c in inspect(conn).get_columns("meta")}
    if columns != {"key", "value"}:
        raise CodesignError(
            f"{where!r} is not a codesign store: its meta table has other columns "
            f"({', '.join(sorted(columns))}); nothing was written"
        )
    rows = dict(conn.execute(text("SELECT key, value FROM meta")).all())
    conn.rollback()
    if rows and "schema_version" not in rows:
        raise CodesignError(
            f"{where!r} is not a codesign store: its meta table holds no codesign schema "
            "version; nothing was written"
        )
    return rows.get("schema_version")


def redacted_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


def _first_line(exc: BaseException) -> str:
    """A driver error's own first line (without SQLAlchemy's background-link footer)."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def check_store_url(url: str, *, must_exist: bool = False, writable: bool = False) -> None:
    """Refuse a store URL that cannot work, before any work and without touching anything:
    a bare path gets a hint, (``must_exist``) a missing SQLite file is an error rather than a
    new empty store, and (``writable``) a SQLite file or folder this process cannot write is
    said now, not as a driver error in the middle of the work."""
    from sqlalchemy.engine import make_url

    if "://" not in url:
        raise CodesignError(
            f"--store {url!r} is not a SQLAlchemy URL: did you mean sqlite:///{url}? "
            "(or postgresql://user@host/db)"
        )
    try:
        make_url(url)  # parses, or the one-line error below
    except (ArgumentError, ValueError) as exc:
        raise CodesignError(f"--store {url!r} is not a SQLAlchemy URL ({exc})") from None
    if (path := sqlite_file(url)) is not None:
        _check_sqlite_path(url, path, must_exist=must_exist, writable=writable)


# SQLite files this process has open. POSIX advisory locks belong to a process, and closing
# any descriptor of a file drops every lock the process holds on it: another process closing
# its last connection would then take this one for gone and delete the WAL under it ("database
# disk image is malformed"). So a file open here is never opened again outside SQLite.
_OPEN_FILES: set[Path] = set()


def _can_write(path: Path) -> bool:
    """Whether this process may write the file: opened for writing and closed, nothing written
    (os.access misses an immutable flag when running as root). A file this process already has
    open through SQLite is judged by os.access alone (see _OPEN_FILES)."""
    if path.resolve() in _OPEN_FILES:
        return os.access(path, os.W_OK)
    try:
        with open(path, "r+b"):
            return True
    except OSError:
        return False


def _check_sqlite_path(url: str, path: Path, *, must_exist: bool, writable: bool) -> None:
    from codesign.paths import check_path_length

    check_path_length(path, "--store")
    where = redacted_url(url)
    if path.exists() and not path.is_file():
        raise CodesignError(f"--store {where!r}: {path} is not a file")
    if must_exist and not path.is_file():
        raise CodesignError(
            f"--store {where!r}: no store file at {path} (nothing was created; "
            "run `python -m codesign.measurements evaluate` first, or fix the path)"
        )
    folder = path.absolute().parent
    if not folder.is_dir():
        raise CodesignError(f"--store {where!r}: the folder {folder} does not exist")
    if not writable:
        return
    if path.exists() and not _can_write(path):
        raise CodesignError(
            f"--store {where!r}: {path} is read-only (its permissions or an immutable flag); "
            "this command writes to the store, so nothing was done"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CodesignError(
            f"--store {where!r}: the folder {folder} cannot be written, and SQLite keeps its "
            "journal beside the file; nothing was done"
        )


class Store:
    """Opens the store at ``url``, creating it unless ``create`` is False (read-only commands
    never leave an empty store behind); refuses a newer or unreadable schema. Many processes
    may open one new store at once: creating the schema is serialised (PostgreSQL: an advisory
    lock) and a lost race is tried again. A PostgreSQL server that goes away is waited for
    (STORE_RETRY_S) before a session gives up with one line (StoreUnreachable)."""

    def __init__(self, url: str, *, create: bool = True, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self._outage_said = False
        create = create and not read_only
        check_store_url(url, must_exist=not create, writable=not read_only)
        sqlite = url.startswith("sqlite")
        try:
            # pre-ping: a pooled connection that a server restart closed is replaced, not used
            self.engine = create_engine(
                _read_only_url(url) if read_only else url, future=True, pool_pre_ping=not sqlite
            )
        except (ArgumentError, ValueError, ImportError) as exc:
            raise CodesignError(f"cannot open store {redacted_url(url)!r}: {exc}") from None
        sqlite = self.engine.dialect.name == "sqlite"
        if sqlite and (file := sqlite_file(url)) is not None:
            _OPEN_FILES.add(file.resolve())
        if sqlite:  # the journal mode is switched only once the file proved to be a store
            listener = sqlite_pragmas(
                wal=False, busy_timeout=int(lock_wait_s() * 1000), foreign_keys="ON"
            )
            event.listen(self.engine, "connect", listener)
        elif read_only:
            event.listen(self.engine, "connect", _read_only_session)
        # opening is not waited for: a server that cannot be reached now is a wrong URL or a
        # server not started, said at once (exit 2) before any work
        self.unreachable = True
        try:
            self._open_schema(create)
            if sqlite and create:  # WAL persists in the file: later opens read it from there
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        except StoreUnreachable as exc:
            reason = _first_line(exc.__cause__ or exc)
            raise CodesignError(f"cannot open store {redacted_url(url)!r}: {reason}") from None
        except SQLAlchemyError as exc:
            reason = _first_line(exc)
            raise CodesignError(f"cannot open store {redacted_url(url)!r}: {reason}") from None
        self.unreachable = False
        _OPENED.append(url)

    @classmethod
    def if_present(cls, url: str) -> Store | None:
        """The store at ``url`` opened read-only, or None when the database exists but holds no
        codesign data yet (an empty PostgreSQL database): nothing is created either way."""
        try:
            return cls(url, read_only=True)
        except CodesignError as exc:
            if str(exc).endswith(EMPTY):
                return None
            raise

    def _open_schema(self, create: bool) -> None:
        """Check (and create or upgrade) the schema, one process at a time: on PostgreSQL under
        an advisory lock, and on both databases again when a concurrent creation won a race
        ("table … already exists", a duplicate meta row). A lost race is retried for as long
        as a locked store is waited for (``lock_wait_s``): on a loaded machine the winner's
        creation can outlast a fixed number of short tries (SQLite answers a writer that would
        deadlock "database is locked" at once, without its busy timeout)."""
        deadline = time.monotonic() + lock_wait_s()
        attempt = 0
        while True:
            try:
                with self._schema_lock():
                    self._check_schema(create)
                return
            except (OperationalError, IntegrityError, ProgrammingError) as exc:
                attempt += 1
                if not _lost_schema_race(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(min(0.05 * attempt, 0.5) + random.random() * 0.05)

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """PostgreSQL: a session-level advisory lock held while the schema is checked and
        created (other processes opening the store wait for it); SQLite: nothing (its writers
        queue on the file lock, and a lost race is retried)."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        with self._connection() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEMA_LOCK_KEY})
                conn.commit()

    def _check_schema(self, create: bool) -> None:
        where = redacted_url(self.url)
        with self._connection() as conn:
            tables = set(inspect(conn).get_table_names())
            marker = _schema_marker(conn, tables, where)
        found = 0
        if marker is not None:
            try:
                found = int(marker)
            except ValueError:
                raise CodesignError(
                    f"store {where!r} is damaged or not a codesign store: its "
                    f"schema version is {marker!r}, not a number"
                ) from None
            if found > SCHEMA_VERSION:
                raise CodesignError(
                    f"store {where!r} has schema version {found}, newer than this "
                    f"codesign's {SCHEMA_VERSION}; upgrade codesign to read it"
                )
        elif other := sorted(tables - set(Base.metadata.tables)):
            shown = ", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
            raise CodesignError(
                f"{where!r} is not a codesign store: it holds other tables ({shown}) and no "
                "codesign schema marker; nothing was written (name a new file or an empty database)"
            )
        if not create and marker is None:
            raise CodesignError(f"store {where!r} {EMPTY}")
        if found == SCHEMA_VERSION:
            return
        if self.read_only:
            raise CodesignError(
                f"store {where!r} has schema version {found}, older than this codesign's "
                f"{SCHEMA_VERSION}; this command only reads, so run a writing one (quantize, "
                "evaluate, profile or search) once to upgrade it in place"
            )
        Base.metadata.create_all(self.engine)
        self._add_missing_columns()
        self._widen_text_columns()
        with self.session() as s:
            s.merge(Meta(key="schema_version", value=str(SCHEMA_VERSION)))

    def _add_missing_columns(self) -> None:
        """Schemas 1 -> 2 and 3 -> 4: nullable columns added in place (stored rows keep their
        data)."""
        have = {c["name"] for c in inspect(self.engine).get_columns("profiles")}
        with self.engine.begin() as conn:
            for column, kind in (
                ("host_bandwidth_gbs", "FLOAT"),
                ("host_peak_tflops", "FLOAT"),
                ("host_kernels", "JSON"),  # schema 3 -> 4
            ):
                if column not in have:
                    conn.execute(text(f"ALTER TABLE profiles ADD COLUMN {column} {kind}"))

    def _widen_text_columns(self) -> None:
        """Schema 2 -> 3: every column of machine- or user-made text is unbounded TEXT (a CPU
        profile's memory method is 163 characters, which PostgreSQL refused in VARCHAR(100)).
        SQLite never enforced the lengths; PostgreSQL's columns change type in place (no
        rewrite: varchar and text are binary-compatible)."""
        if self.engine.dialect.name != "postgresql":
            return
        found = inspect(self.engine)
        with self.engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                have = {c["name"]: c["type"] for c in found.get_columns(table.name)}
                for column in table.columns:
                    bounded = isinstance(have.get(column.name), String) and getattr(
                        have[column.name], "length", None
                    )
                    if type(column.type) is Text and bounded:
                        conn.execute(
                            text(f"ALTER TABLE {table.name} ALTER COLUMN {column.name} TYPE TEXT")
                        )

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection from the pool; a PostgreSQL server that cannot be reached is tried again
        with backoff for STORE_RETRY_S seconds (a restart is ridden out) before StoreUnreachable."""
        conn = self._checkout()
        try:
            yield conn
        except DBAPIError as exc:
            if _unreachable(exc):
                self.unreachable = True
                raise StoreUnreachable(self.url, _first_line(exc)) from exc
            raise
        finally:
            with contextlib.suppress(Exception):  # a dead connection may fail to close
                conn.close()

    def _checkout(self) -> Connection:
        """``self.unreachable``: the server was given up on (or the store is being opened):
        one try, no waiting."""
        waited, delay = 0.0, 0.5
        budget = 0.0 if self.unreachable else store_retry_s()
        while True:
            try:
                conn = self.engine.connect()
                self.unreachable = self._outage_said = False
                return conn
            except DBAPIError as exc:
                if not _unreachable(exc):
                    raise
                if waited >= budget:
                    self.unreachable = True
                    raise StoreUnreachable(self.url, _first_line(exc)) from exc
                if not self._outage_said:  # once per outage, whichever thread meets it
                    self._outage_said = True
                    sys.stderr.write(
                        f"note: the store at {redacted_url(self.url)} is unreachable "
                        f"({_first_line(exc)}); trying again for up to {budget:.0f} s\n"
                    )
                time.sleep(delay)
                waited += delay
                delay = min(delay * 2, 8.0)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any exception. Its connection
        is checked out first, so an unreachable server is waited for before the body runs."""
        with (
            self._connection() as conn,
            Session(bind=conn, expire_on_commit=False) as s,
            s.begin(),
        ):
            yield s

    # -- models and variants -------------------------------------------------------------
    def upsert_model(
        self, fingerprint: str, name: str, baseline: str, source: str, config: dict
    ) -> int:
        """The model's id, inserting it when new; a concurrent insert of the same model (another
        process opening it at the same moment) is read back, not an error."""
        for attempt in range(3):
            try:
                with self.session() as s:
                    row = s.scalar(select(ModelRow).where(ModelRow.fingerprint == fingerprint))
                    if row is None:
                        row = ModelRow(
                            fingerprint=fingerprint,
                            name=name,
                            baseline=baseline,
                            source=source,
                            config=config,
                        )
                        s.add(row)
                        s.flush()
                    return row.id
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def variant(self, key: str) -> VariantRow | None:
        with self.session() as s:
            return s.scalar(select(VariantRow).where(VariantRow.key == key))

    def add_variant(self, **fields: Any) -> VariantRow:
        """Insert a variant; if a concurrent run stored the same key first, return that row."""
        try:
            with self.session() as s:
                row = VariantRow(**fields)
                s.add(row)
            return row
        except IntegrityError:
            existing = self.variant(fields["key"])
            if existing is None:
                raise
            return existing

    def variants(self, model_name: str | None = None) -> list[tuple[VariantRow, ModelRow]]:
        with self.session() as s:
            q = select(VariantRow, ModelRow).join(ModelRow, VariantRow.model_id == ModelRow.id)
            if model_name is not None:
                q = q.where(ModelRow.name == model_name)
            q = q.order_by(ModelRow.name, VariantRow.method, VariantRow.bits.desc())
            return [(v, m) for v, m in s.execute(q).all()]

    # -- profiles ------------------------------------------------------------------------
    def has_profile(self, variant_id: int, workload: str, device: str) -> bool:
        with self.session() as s:
            q = select(ProfileRow.id).where(
                ProfileRow.variant_id == variant_id,
                ProfileRow.workload == workload,
                ProfileRow.device == device,
            )
            return s.scalar(q) is not None

    def add_profile(self, also: Callable[[Session], None] | None = None, **fields: Any) -> None:
        """Store a profile; ``also`` runs in the same transaction (its work unit marked done)."""
        try:
            with self.session() as s:
                s.add(ProfileRow(**fields))
                if also is not None:
                    also(s)
        except IntegrityError:
            pass  # another run stored the same measurement first; keep that one

    def put_variant_metric(
        self, variant_id: int, metric: str, value: float, detail: dict[str, Any]
    ) -> None:
        """Record (or replace) one measured property of a variant (a concurrent first insert
        of the same one is replaced, not an error)."""
        for attempt in range(3):
            try:
                with self.session() as s:
                    row = s.scalar(
                        select(VariantMetricRow).where(
                            VariantMetricRow.variant_id == variant_id,
                            VariantMetricRow.metric == metric,
                        )
                    )
                    if row is None:
                        s.add(
                            VariantMetricRow(
                                variant_id=variant_id, metric=metric, value=value, detail=detail
                            )
                        )
                    else:
                        row.value, row.detail = value, detail
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    def variant_metrics(self, metric: str) -> dict[str, tuple[float, dict[str, Any]]]:
        """{variant key: (value, detail)} of one metric."""
        with self.session() as s:
            q = (
                select(VariantRow.key, VariantMetricRow.value, VariantMetricRow.detail)
                .join(VariantMetricRow, VariantMetricRow.variant_id == VariantRow.id)
                .where(VariantMetricRow.metric == metric)
            )
            return {key: (value, detail) for key, value, detail in s.execute(q)}

    def profiles(self) -> list[tuple[ProfileRow, VariantRow, ModelRow]]:
        with self.session() as s:
            q = (
                select(ProfileRow, VariantRow, ModelRow)
                .join(VariantRow, ProfileRow.variant_id == VariantRow.id)
                .join(ModelRow, VariantRow.model_id == ModelRow.id)
                .order_by(ModelRow.name, VariantRow.method, VariantRow.bits.desc())
            )
            return [tuple(r) for r in s.execute(q).all()]

    def profiles_frame(self) -> pd.DataFrame:
        """Every profile as one flat table (the simulators' validation reads this)."""
        rows = []
        for p, v, m in self.profiles():
            rows.append(
                {
                    "model": m.name,
                    "model_config": m.config,
                    "baseline": m.baseline,
                    "method": v.method,
                    "bits": v.bits,
                    "group_size": v.group_size,
                    "device": p.device,
                    "dtype": p.dtype,
                    "kernel": p.kernel,
                    "real_low_bit": p.real_low_bit,
                    "batch_size": p.batch_size,
                    "prompt_len": p.prompt_len,
                    "context_len": p.prompt_len + p.decode_tokens // 2,
                    "decode_tokens": p.decode_tokens,
                    "decode_ms_per_token": p.decode_ms_per_token,
                    "decode_ms_per_token_iqr": p.decode_ms_per_token_iqr,
                    "tokens_per_s": p.tokens_per_s,
                    "prefill_ms": p.prefill_ms,
                    "weight_bytes": p.weight_bytes_memory,
                    "peak_memory_bytes": p.peak_memory_bytes,
                    "synthetic_weights": p.synthetic_weights,
                    "versions": p.versions,
                    "host_bandwidth_gbs": p.host_bandwidth_gbs,
                    "host_peak_tflops": p.host_peak_tflops,
                    "host_kernels": p.host_kernels,
                }
            )
        return pd.DataFrame(rows)

    # -- predictions ---------------------------------------------------------------------
    def predicted_item_ids(self, variant_id: int, suite: str) -> set[str]:
        with self.session() as s:
            q = select(PredictionRow.item_id).where(
                PredictionRow.variant_id == variant_id, PredictionRow.suite == suite
            )
            return set(s.scalars(q).all())

    def add_predictions(
        self,
        variant_id: int,
        predictions: Iterable[Prediction],
        also: Callable[[Session], None] | None = None,
    ) -> int:
        """Store a batch in one transaction, skipping items already stored; returns rows added.
        ``also`` runs in the same transaction (a work unit marked done with its last batch)."""
        preds = list(predictions)
        if not preds and also is None:
            return 0
        with self.session() as s:
            if also is not None:
                also(s)
            if not preds:
                return 0
            suites = {p.suite for p in preds}
            q = select(PredictionRow.suite, PredictionRow.item_id).where(
                PredictionRow.variant_id == variant_id, PredictionRow.suite.in_(suites)
            )
            have = set(s.execute(q).all())
            new = [p for p in preds if (p.suite, p.item_id) not in have]
            s.add_all(
                PredictionRow(variant_id=variant_id, **{**p.__dict__, "raw": storable(p.raw)})
                for p in new
            )
        return len(new)

    def predictions_frame(self, suite: str | None = None) -> pd.DataFrame:
        """Every stored prediction with its variant's identity, one row per (variant, item)."""
        with self.session() as s:
            q = (
                select(
                    PredictionRow.id.label("row_id"),
                    PredictionRow.suite,
                    PredictionRow.item_id,
                    PredictionRow.raw,
                    PredictionRow.label,
                    PredictionRow.refused,
                    PredictionRow.prompt_tokens,
                    PredictionRow.generated_tokens,
                    PredictionRow.extra,
                    VariantRow.key.label("variant_key"),
                    VariantRow.method,
                    VariantRow.bits,
                    VariantRow.group_size,
                    VariantRow.seed,
                    ModelRow.name.label("model"),
                    ModelRow.baseline,
                )
                .join(VariantRow, PredictionRow.variant_id == VariantRow.id)
                .join(ModelRow, VariantRow.model_id == ModelRow.id)
            )
            if suite is not None:
                q = q.where(PredictionRow.suite == suite)
            return pd.DataFrame(s.execute(q).mappings().all())

    def prediction_counts(self, variant_ids: list[int]) -> dict[tuple[int, str], int]:
        """Stored predictions per (variant id, suite) of these variants."""
        from sqlalchemy import func

        with self.session() as s:
            q = (
                select(PredictionRow.variant_id, PredictionRow.suite, func.count())
                .where(PredictionRow.variant_id.in_(variant_ids))
                .group_by(PredictionRow.variant_id, PredictionRow.suite)
            )
            return {(v, suite): n for v, suite, n in s.execute(q).all()}

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with self.session() as s:
            return {
                t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0
                for t in (ModelRow, VariantRow, ProfileRow, PredictionRow)
            }


def sqlite_pragmas(*, wal: bool = True, **pragmas: Any) -> Callable[[Any, Any], None]:
    """A connect listener for SQLite engines: WAL (readers and one writer at once; ``wal=False``
    leaves the file's journal mode alone), then each ``name=value`` pragma, e.g.
    ``busy_timeout=30000`` (wait for a lock instead of failing when processes share the file).
    The store and the Optuna storage each pass their own policy."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
        for name, value in pragmas.items():
            cur.execute(f"PRAGMA {name}={value}")
        cur.close()

    return on_connect


def storable(text: str) -> str:
    """``text`` as every database can hold it: PostgreSQL's text refuses NUL characters, which
    a model can generate (a random tiny model did), so each becomes U+FFFD, the replacement
    character; no label parser reads either."""
    return text.replace("\x00", "\ufffd")


def variant_label(method: str, bits: int, seed: int = 0) -> str:
    """How a stored variant is named in progress lines, tables and ensembles."""
    if method == "dense":
        return "dense"
    return f"{method}-w{bits}" + (f"-s{seed}" if seed else "")


def dumps(obj: Any) -> str:
    """Stable JSON used for fingerprints and workload keys."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
