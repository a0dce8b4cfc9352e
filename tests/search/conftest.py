"""A synthetic store for the search: real suite items, seeded labels of varying quality.

Seven variants (dense, GPTQ and AWQ at 8, 4 and 3 bits) answer real suite items; each label is
right with a probability that grows with bits (method and seed vary it a little), otherwise a
wrong label, REFUSED or INVALID. Fairness keeps one setting to keep its (slow) scoring short.
No model runs: the search is tested on what it reads from the store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codesign.testing.synthetic_store import build_synthetic_store


@pytest.fixture(scope="session")
def synthetic_db(tmp_path_factory) -> Path:
    """The synthetic store, built once per session as a SQLite file (copied per test)."""
    path = tmp_path_factory.mktemp("search-store") / "store.db"
    store = build_synthetic_store(f"sqlite:///{path}")
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.engine.dispose()
    return path


@pytest.fixture
def search_store(synthetic_db, tmp_path) -> str:
    """A fresh copy of the synthetic store for one test: its URL."""
    path = tmp_path / "store.db"
    shutil.copy(synthetic_db, path)
    return f"sqlite:///{path}"


# A space small enough to enumerate: GPTQ (8/4/3, the dense model joining or not) and the dense
# model alone, on one unit with its spec's parameters, majority vote, sequential or cascade
# (either order): 4 single members + 11 ensembles x 3 schedules = 37 configurations.
SMALL_SPACE = (
    "--methods", "gptq,dense", "--units", "stripes", "--unit-params", "fixed",
    "--schedules", "sequential,cascade", "--vote-rules", "majority",
)  # fmt: skip
SMALL_SPACE_SIZE = 4 + 11 * 3


def search_args(store_url: str, out: Path, *extra: str) -> list[str]:
    return ["--store", store_url, "--out", str(out), "--budget-gb", "24", "--no-measure", *extra]
