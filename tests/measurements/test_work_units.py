"""Work units through the store: every unit claimed by one worker at a time, on SQLite and on a
real PostgreSQL server (CODESIGN_TEST_POSTGRES_URL, started by `.ci/run`); leases that run out
and owners that died give their units back; `--workers 2` stores what one process stores."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import uuid

import pytest

from codesign.jobs import queue, workers
from codesign.store import Store
from codesign.testing.postgres import fresh_database

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
    """A new store: on PostgreSQL a new database, so that the search's tests, which share the
    server's default database, never see these tests' models and units."""
    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'w.db'}")
    return Store(_fresh_pg_database())


def _job() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_planning_twice_lists_each_unit_once_and_reopens_on_request(store):
    job = _job()
    units = [(f"u{i}", f"unit {i}") for i in range(5)]
    queue.plan(store, "evaluate", job, units)
    queue.plan(store, "evaluate", job, units)
    assert queue.counts(store, job) == {"pending": 5, "claimed": 0, "done": 0}
    unit = queue.claim(store, job, "me:1")
    queue.finish(store, unit, "me:1", 1.0)
    queue.plan(store, "evaluate", job, units, reopen=[unit.key])
    assert queue.counts(store, job)["pending"] == 5


def test_a_worker_takes_a_group_no_other_worker_holds_and_keeps_to_it(store):
    """Two workers over three variants' units load different variants; at the end one joins
    the other's variant instead of idling."""
    job = _job()
    queue.plan(store, "evaluate", job, [(f"v{v}|s{i}", "") for v in range(3) for i in range(2)])
    a = queue.claim(store, job, "a:1")
    b = queue.claim(store, job, "b:2")
    assert (a.key, b.key) == ("v0|s0", "v1|s0")  # not v0|s1: a holds v0
    queue.finish(store, a, "a:1", 1.0)
    a = queue.claim(store, job, "a:1", prefer="v0|")
    assert a.key == "v0|s1"  # its own variant first
    queue.finish(store, a, "a:1", 1.0)
    a = queue.claim(store, job, "a:1", prefer="v0|")
    assert a.key == "v2|s0"  # v1 is b's: the free variant
    queue.finish(store, a, "a:1", 1.0)
    a = queue.claim(store, job, "a:1", prefer="v2|")
    assert a.key == "v2|s1"
    queue.finish(store, a, "a:1", 1.0)
    assert queue.claim(store, job, "a:1", prefer="v2|").key == "v1|s1"  # joins b at the end


def test_concurrent_claims_never_give_one_unit_to_two_workers(store):
    job = _job()
    queue.plan(store, "evaluate", job, [(f"u{i:02d}", "") for i in range(40)])
    got: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        mine = got.setdefault(name, [])
        while (unit := queue.claim(store, job, name)) is not None:
            mine.append(unit.key)
            queue.finish(store, unit, name, 0.0)

    threads = [threading.Thread(target=worker, args=(f"host:{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [k for keys in got.values() for k in keys]
    assert sorted(claimed) == [f"u{i:02d}" for i in range(40)]  # each once, none missing
    assert queue.counts(store, job) == {"pending": 0, "claimed": 0, "done": 40}


def test_an_expired_lease_and_a_dead_local_owner_give_the_unit_back(store, monkeypatch):
    job = _job()
    queue.plan(store, "evaluate", job, [("a", ""), ("b", "")])
    first = queue.claim(store, job, "elsewhere:1")
    assert queue.claim(store, job, "other:2").key != first.key  # held: the other one
    assert queue.claim(store, job, "other:2") is None  # both held, leases live
    # time passes beyond the lease: both are claimable again
    now = queue.time.time()
    monkeypatch.setattr(queue.time, "time", lambda: now + queue.LEASE_S + 1)
    assert queue.claim(store, job, "late:3") is not None
    monkeypatch.undo()
    # a process of this host that no longer exists frees its unit at once
    job2 = _job()
    queue.plan(store, "evaluate", job2, [("c", "")])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True).stdout.strip()  # fmt: skip
    queue.claim(store, job2, f"{queue.socket.gethostname()}:{dead}")
    assert queue.claim(store, job2, queue.owner_name()) is not None


def test_an_interrupted_unit_goes_back_to_pending_and_a_finished_one_records_its_time(store):
    job = _job()
    queue.plan(store, "evaluate", job, [("a", ""), ("b", "")])

    def run(unit, completion) -> None:
        if unit.key == "b":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        queue.work_through(store, job, run)
    assert queue.counts(store, job) == {"pending": 1, "claimed": 0, "done": 1}
    assert "1/2 units done" in queue.progress_line(store, job)


def test_waiting_retakes_a_unit_whose_holder_died_and_status_shows_it_expired(
    store, monkeypatch, capsys
):
    """A unit another host claimed and stopped renewing: without --wait the worker stops and
    says so; status shows it expired (no ETA); with --wait it is retaken once its lease ends."""
    import json

    from codesign.measurements.cli import main

    monkeypatch.setattr(queue, "LEASE_S", 1.0)
    job = _job()
    queue.plan(store, "evaluate", job, [("v|a", "a"), ("v|b", "b")])
    queue.finish(store, queue.claim(store, job, "fast:1"), "fast:1", 2.0)
    assert queue.claim(store, job, "dead-host:7") is not None  # it never renews, never finishes
    ran: list[str] = []
    assert queue.work_through(store, job, lambda u, c: ran.append(u.key)) == 0
    line = queue.leftover_line(store, job)
    assert "held by another worker" in line and "--wait" in line
    queue.time.sleep(1.2)
    progress = queue.progress_line(store, job)
    assert "0 running, 1 expired" in progress and "ETA" not in progress
    assert main(["status", "--store", store.url, "--json"]) == 0
    mine = {j["job"]: j for j in json.loads(capsys.readouterr().out)["jobs"]}[job]
    assert mine["open"][0]["state"] == "expired" and mine["open"][0]["lease_left_s"] is None
    assert queue.work_through(store, job, lambda u, c: ran.append(u.key), wait=True) == 1
    assert ran == ["v|b"] and queue.open_units(store, job).held == 0


def test_a_worker_never_claims_a_unit_its_command_does_not_define(store):
    job = _job()
    queue.plan(store, "quantize", job, [("gptq-w4", ""), ("gptq-w8", "")])
    ran: list[str] = []
    queue.work_through(store, job, lambda u, c: ran.append(u.key), known={"gptq-w8"})
    assert ran == ["gptq-w8"]
    assert queue.counts(store, job) == {"pending": 1, "claimed": 0, "done": 1}


def test_quantize_commands_for_other_variants_never_share_a_job():
    from types import SimpleNamespace

    from codesign.measurements.quantize.cli import quantize_job
    from codesign.measurements.quantize.recipes import variant_grid

    args = SimpleNamespace(group_size=128, backend=None)

    def job(bits: list[int]) -> str:
        specs = {s.label: s for s in variant_grid(["gptq"], bits, 128, [0])}
        return quantize_job("fp", specs, "calib", args, "cpu", bits)

    assert job([3, 4, 8]) != job([3, 8])
    assert job([3, 8]) == job([3, 8])


def test_status_on_an_empty_database_says_so(store, capsys):
    """A new PostgreSQL database (or an empty SQLite file) holds no codesign tables yet."""
    from codesign.measurements.cli import main

    if store.engine.dialect.name == "postgresql":
        url = _fresh_pg_database()
    else:
        url = store.url.replace("w.db", "empty.db")
        sqlite3.connect(url.removeprefix("sqlite:///")).close()
    assert main(["status", "--store", url]) == 0
    assert "no work units" in capsys.readouterr().out


def test_worker_exits_are_judged_by_what_is_left(store, capsys):
    """A worker that refused its input: exit 2; one that died while the others finished every
    unit: a note, exit 0; one that died leaving work: exit 1, not called bad input."""
    from codesign.errors import CodesignError

    job = _job()
    queue.plan(store, "evaluate", job, [("a", "")])
    with pytest.raises(CodesignError) as bad:
        workers.check_workers([2, 0], "evaluate", store, job)
    assert bad.value.exit_code == 2
    with pytest.raises(workers.WorkerDied, match="worker 2 was killed by SIGKILL") as died:
        workers.check_workers([0, -9], "evaluate", store, job)
    assert died.value.exit_code == 1
    queue.finish(store, queue.claim(store, job, "w:1"), "w:1", 1.0)
    workers.check_workers([0, -9], "evaluate", store, job)
    assert "worker 2 was killed by SIGKILL; the other workers retook" in capsys.readouterr().out


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


def test_status_shows_every_job_and_who_holds_what(store, capsys):
    import json

    from codesign.measurements.cli import main

    job = _job()
    queue.plan(store, "evaluate", job, [("v/ethics", "gptq-w4 ethics"), ("v/ood", "gptq-w4 ood")])
    held = queue.claim(store, job, "gpu-host-7:4242")
    queue.finish(store, queue.claim(store, job, "gpu-host-8:11"), "gpu-host-8:11", 30.0)
    assert main(["status", "--store", store.url, "--json"]) == 0
    jobs = {j["job"]: j for j in json.loads(capsys.readouterr().out)["jobs"]}
    mine = jobs[job]
    assert mine["progress"].startswith("1/2 units done, 1 running, 0 pending")
    assert mine["open"] == [
        {**mine["open"][0], "key": held.key, "state": "claimed", "owner": "gpu-host-7:4242"}
    ]
    assert 0 < mine["open"][0]["lease_left_s"] <= queue.LEASE_S
    assert main(["status", "--store", store.url]) == 0
    text = capsys.readouterr().out
    assert "gpu-host-7:4242" in text and "1/2 units done" in text


def _fresh_pg_database() -> str:
    return fresh_database(PG, "codesign_units")


def _wait_for(predicate, timeout_s: float = 600.0, step_s: float = 0.02) -> None:
    import time

    deadline = time.time() + timeout_s
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(step_s)


@pytest.mark.skipif(not PG, reason="no PostgreSQL server: .ci/run sets CODESIGN_TEST_POSTGRES_URL")
def test_four_workers_one_killed_mid_unit_store_what_one_process_stores(tiny_llama, tmp_path):
    import signal

    from sqlalchemy import select

    from codesign.store import WorkUnitRow

    url, cache = _fresh_pg_database(), tmp_path / "cache"
    argv = [sys.executable, "-m", "codesign.measurements", "evaluate", "--model", str(tiny_llama)]
    argv += ["--method", "gptq", "--bits", "4", "--calib-samples", "4", "--calib-seq-len", "32"]
    argv += ["--suites", "ethics,ood,adv_robustness,fairness", "--limit", "2"]
    argv += ["--max-batch-tokens", "256"]
    env = dict(os.environ, CODESIGN_CACHE=str(cache), OMP_NUM_THREADS="1", CODESIGN_LEASE_S="4")
    quantize = [*argv[:3], "quantize", *argv[4:14], "--store", url]
    subprocess.run(quantize, env=env, check=True, capture_output=True, timeout=900)

    worker = [*argv, "--store", url, "--workers", "4", "--worker"]
    doomed = subprocess.Popen(
        worker, env=dict(env, CODESIGN_WORKER_HOST="doomed"), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    others = [
        subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    store = Store(url)

    def held_by_doomed() -> list:
        with store.session() as s:
            return list(
                s.scalars(
                    select(WorkUnitRow.key).where(
                        WorkUnitRow.owner == f"doomed:{doomed.pid}", WorkUnitRow.state == "claimed"
                    )
                )
            )

    _wait_for(lambda: bool(held_by_doomed()) or doomed.poll() is not None)
    os.kill(doomed.pid, signal.SIGSTOP)  # frozen mid-unit, then killed as a host would die
    lost = held_by_doomed()
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    assert lost, "the doomed worker finished before it could be killed"
    for p in others:
        assert p.wait(timeout=900) == 0, p.stderr.read().decode()[-6000:]
    # whoever comes next takes the unit over once its lease has run out
    retake = subprocess.run(worker, env=env, capture_output=True, text=True, timeout=900)
    assert retake.returncode == 0, retake.stderr[-2000:]
    with store.session() as s:
        units = {u.key: (u.state, u.attempts) for u in s.scalars(select(WorkUnitRow))}
    assert {state for state, _ in units.values()} == {"done"}
    assert units[lost[0]][1] == 2  # claimed twice: by the killed worker, then again

    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    one = subprocess.run([*argv, "--store", alone], env=env, capture_output=True, timeout=900)
    assert one.returncode == 0, one.stderr[-2000:]
    keys = ["suite", "method", "bits", "item_id"]
    a, b = (Store(u).predictions_frame().set_index(keys).sort_index() for u in (url, alone))
    assert not a.index.duplicated().any()  # every item once
    assert list(a.index) == list(b.index)  # none missing
    assert (a["raw"] == b["raw"]).all()  # and the same outputs as one process


def test_evaluate_units_are_shards_that_cover_every_item_once_in_order():
    from codesign.measurements.evaluate.cli import SHARD_ITEMS, _parts
    from codesign.measurements.evaluate.suites import SUITES

    suite = SUITES.get("ethics")
    data = suite.load(20, 0, {})  # jailbreak and evasive: 5 prompts × 20 items per setting
    parts = _parts(data)
    assert len(parts) == -(-len(data.items) // SHARD_ITEMS) > 1
    seen = []
    for part in parts.values():
        assert 0 < len(part.items) <= SHARD_ITEMS
        seen += [suite.stored_key(it) for it in part.items]
    assert seen == [suite.stored_key(it) for it in data.items]  # each once, settings together


def test_a_generation_with_nul_characters_is_stored_on_both_databases(store):
    """A tiny random model generated a NUL, which PostgreSQL's text type refuses (found by the
    killed-worker test): it is stored as U+FFFD on both databases."""
    from codesign.store import Prediction
    from tests.test_store import _variant

    vid = _variant(store, f"nul-{uuid.uuid4().hex[:8]}")
    pred = Prediction("ethics", "i0", "wr\x00ong", "INVALID", False, 10, 2)
    assert store.add_predictions(vid, [pred]) == 1
    frame = store.predictions_frame("ethics")
    assert "wr\ufffdong" in set(frame["raw"])


def test_a_units_last_results_and_its_completion_commit_together_or_not_at_all(store):
    """The unit is marked done in the transaction of its last results: when that
    transaction fails, neither the results nor the completion are kept, and the unit goes back
    to pending for the next worker."""
    from codesign.store import Prediction
    from tests.test_store import _variant

    vid = _variant(store, f"done-{uuid.uuid4().hex[:8]}")
    job = _job()
    queue.plan(store, "evaluate", job, [("ok", ""), ("broken", "")])
    seen: list[str] = []

    def run(unit, completion) -> None:
        pred = Prediction("ethics", unit.key, "wrong", "wrong", False, 10, 2)
        if unit.key == "ok":
            store.add_predictions(vid, [pred], also=completion)
            seen.append(_state(store, job, "ok"))  # done before the body even returned
            return

        def fail_after(session) -> None:
            completion(session)
            raise RuntimeError("the database went away mid-commit")

        store.add_predictions(vid, [pred], also=fail_after)

    with pytest.raises(RuntimeError):
        queue.work_through(store, job, run)
    assert seen == ["done"]
    assert _state(store, job, "broken") == "pending"
    assert store.predicted_item_ids(vid, "ethics") == {"ok"}


def _state(store, job: str, key: str) -> str:
    from sqlalchemy import select

    from codesign.store import WorkUnitRow

    with store.session() as s:
        return s.scalar(
            select(WorkUnitRow.state).where(WorkUnitRow.job == job, WorkUnitRow.key == key)
        )


def test_each_worker_gets_its_share_of_cores_and_one_gpu_which_it_sees_as_cuda(monkeypatch):
    assert workers.worker_envs(2, [], cpus=16) == [{"OMP_NUM_THREADS": "8"}] * 2
    envs = workers.worker_envs(3, ["0", "1"], cpus=16)
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "0"]  # round-robin
    assert {e["OMP_NUM_THREADS"] for e in envs} == {"5"}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5,7")
    assert workers.gpus_for("cuda") == ["2", "5", "7"]
    assert workers.gpus_for("cuda:1") == ["5"]
    assert workers.gpus_for("cpu") == []
    argv = ["evaluate", "--device", "cuda:1", "--limit", "4"]
    assert workers.on_own_gpu(argv) == ["evaluate", "--device", "cuda", "--limit", "4"]
    assert workers.on_own_gpu(["profile", "--device=cuda:3"]) == ["profile", "--device=cuda"]
    assert workers.on_own_gpu(["quantize", "--device", "cpu"]) == ["quantize", "--device", "cpu"]


def test_a_killed_evaluate_worker_is_retaken_and_the_command_succeeds(tiny_llama, tmp_path):
    """`evaluate --workers 2` with one worker SIGKILLed mid-unit: the other retakes its unit
    (a dead process of this host frees it at once), every item is stored once, and the command
    exits 0 saying a worker died."""
    import signal
    import time

    import psutil
    from sqlalchemy import select

    from codesign.store import WorkUnitRow

    url, cache = f"sqlite:///{tmp_path / 'k.db'}", tmp_path / "cache"
    assert _evaluate(tiny_llama, url, cache, "--suites", "ethics").returncode == 0  # reference
    expected = len(Store(url).predictions_frame("ethics"))
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    cmd = [sys.executable, "-m", "codesign.measurements", "evaluate", "--model", str(tiny_llama)]
    cmd += ["--method", "gptq", "--bits", "4,8", "--calib-samples", "4", "--calib-seq-len", "32"]
    cmd += ["--suites", "ethics", "--limit", "2", "--max-batch-tokens", "256", "--store", url]
    cmd += ["--workers", "2"]
    env = dict(os.environ, CODESIGN_CACHE=str(cache))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def holder() -> int | None:
        try:
            with Store(url, create=False).session() as s:
                owners = s.scalars(
                    select(WorkUnitRow.owner).where(
                        WorkUnitRow.kind == "evaluate", WorkUnitRow.state == "claimed"
                    )
                ).all()
        except Exception:  # noqa: BLE001 - the store may not exist yet
            return None
        children = {c.pid for c in psutil.Process(proc.pid).children()}
        pids = [int(o.rsplit(":", 1)[1]) for o in owners if o]
        return next((p for p in pids if p in children), None)

    deadline = time.time() + 600
    while (victim := holder()) is None:
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    assert "was killed by SIGKILL; the other workers retook its unit" in out, out[-3000:]
    frame = Store(url).predictions_frame("ethics")
    assert len(frame) == expected and not frame.duplicated(["variant_key", "item_id"]).any()
