"""Work units through the store: every unit claimed by one worker at a time, on SQLite and on a
real PostgreSQL server (CODESIGN_TEST_POSTGRES_URL, started by `.ci/run`); leases that run out
and owners that died give their units back; `--workers 2` stores what one process stores."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid

import pytest

from codesign.measurements import work
from codesign.store import Store

PG = os.environ.get("CODESIGN_TEST_POSTGRES_URL")
DATABASES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not PG, reason="no PostgreSQL server: .ci/run sets CODESIGN_TEST_POSTGRES_URL"
        ),
    ),
]


@pytest.fixture(params=DATABASES)
def store(request, tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'w.db'}" if request.param == "sqlite" else PG)


def _job() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"  # PostgreSQL is shared by every test: own jobs


def test_planning_twice_lists_each_unit_once_and_reopens_on_request(store):
    job = _job()
    units = [(f"u{i}", f"unit {i}") for i in range(5)]
    work.plan(store, "evaluate", job, units)
    work.plan(store, "evaluate", job, units)
    assert work.counts(store, job) == {"pending": 5, "claimed": 0, "done": 0}
    unit = work.claim(store, job, "me:1")
    work.finish(store, unit, "me:1", 1.0)
    work.plan(store, "evaluate", job, units, reopen=[unit.key])
    assert work.counts(store, job)["pending"] == 5


def test_concurrent_claims_never_give_one_unit_to_two_workers(store):
    job = _job()
    work.plan(store, "evaluate", job, [(f"u{i:02d}", "") for i in range(40)])
    got: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        mine = got.setdefault(name, [])
        while (unit := work.claim(store, job, name)) is not None:
            mine.append(unit.key)
            work.finish(store, unit, name, 0.0)

    threads = [threading.Thread(target=worker, args=(f"host:{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [k for keys in got.values() for k in keys]
    assert sorted(claimed) == [f"u{i:02d}" for i in range(40)]  # each once, none missing
    assert work.counts(store, job) == {"pending": 0, "claimed": 0, "done": 40}


def test_an_expired_lease_and_a_dead_local_owner_give_the_unit_back(store, monkeypatch):
    job = _job()
    work.plan(store, "evaluate", job, [("a", ""), ("b", "")])
    first = work.claim(store, job, "elsewhere:1")
    assert work.claim(store, job, "other:2").key != first.key  # held: the other one
    assert work.claim(store, job, "other:2") is None  # both held, leases live
    # time passes beyond the lease: both are claimable again
    now = work.time.time()
    monkeypatch.setattr(work.time, "time", lambda: now + work.LEASE_S + 1)
    assert work.claim(store, job, "late:3") is not None
    monkeypatch.undo()
    # a process of this host that no longer exists frees its unit at once
    job2 = _job()
    work.plan(store, "evaluate", job2, [("c", "")])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True).stdout.strip()  # fmt: skip
    work.claim(store, job2, f"{work.socket.gethostname()}:{dead}")
    assert work.claim(store, job2, work.owner_name()) is not None


def test_an_interrupted_unit_goes_back_to_pending_and_a_finished_one_records_its_time(store):
    job = _job()
    work.plan(store, "evaluate", job, [("a", ""), ("b", "")])

    def run(unit) -> None:
        if unit.key == "b":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        work.work_through(store, job, run)
    assert work.counts(store, job) == {"pending": 1, "claimed": 0, "done": 1}
    assert "1/2 units done" in work.progress_line(store, job)


def _evaluate(model, url, cache, *extra, threads=None):
    cmd = [sys.executable, "-m", "codesign.measurements", "evaluate", "--model", str(model)]
    cmd += ["--method", "gptq", "--bits", "4,8", "--calib-samples", "4", "--calib-seq-len", "32"]
    cmd += ["--suites", "ethics", "--limit", "2", "--max-batch-tokens", "256", "--store", url]
    env = dict(os.environ, CODESIGN_CACHE=str(cache))
    if threads:  # the arithmetic of a worker's share of the cores: the same greedy outputs
        env["OMP_NUM_THREADS"] = str(threads)
    return subprocess.run([*cmd, *extra], env=env, capture_output=True, text=True, timeout=900)


def test_two_workers_store_every_item_once_and_what_one_process_stores(tiny_llama, tmp_path):
    two = f"sqlite:///{tmp_path / 'two.db'}"
    cache = tmp_path / "cache"  # the second run reads the variants the first quantized
    done = _evaluate(tiny_llama, two, cache, "--workers", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "[worker 1]" in done.stdout and "[worker 2]" in done.stdout
    one = f"sqlite:///{tmp_path / 'one.db'}"
    alone = _evaluate(tiny_llama, one, cache, threads=max(1, (os.cpu_count() or 1) // 2))
    assert alone.returncode == 0, alone.stderr[-2000:]
    frames = [Store(u).predictions_frame("ethics") for u in (two, one)]
    keys = ["method", "bits", "item_id"]
    for f in frames:
        assert not f.duplicated(keys).any()
    a, b = (f.set_index(keys).sort_index() for f in frames)
    assert list(a.index) == list(b.index)  # the same items, each once
    assert (a["raw"] == b["raw"]).all()  # and the same outputs (greedy, same weights)
    store = Store(two)
    with store.session() as s:
        from sqlalchemy import select

        from codesign.store import WorkUnitRow

        states = list(s.scalars(select(WorkUnitRow.state)))
    assert states and set(states) == {"done"}
