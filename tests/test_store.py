"""The store: one URL, transactional writes, unique rows, a schema version it enforces."""

from __future__ import annotations

import multiprocessing
import os

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from codesign.errors import CodesignError
from codesign.store import SCHEMA_VERSION, Prediction, Store
from codesign.testing.postgres import fresh_database


def _variant(store: Store, key: str = "k1") -> int:
    model_id = store.upsert_model("fp", "tiny", "dense", "test", {"hidden_size": 8})
    return store.add_variant(
        key=key,
        model_id=model_id,
        method="gptq",
        bits=4,
        group_size=128,
        seed=0,
        calibration="c",
        backend="gptqmodel",
        backend_version="gptqmodel 7.6.0",
        path="/x",
        weight_bytes_disk=1,
        quantize_seconds=1.0,
        recipe={"a": 1},
    ).id


def test_a_new_store_records_its_schema_version(store_url):
    store = Store(store_url)
    with store.engine.connect() as conn:
        value = conn.execute(text("select value from meta where key='schema_version'")).scalar()
    assert int(value) == SCHEMA_VERSION


def test_a_newer_schema_is_refused_and_left_untouched(store_url):
    store = Store(store_url)
    _variant(store)
    with store.engine.begin() as conn:
        conn.execute(text("update meta set value='99' where key='schema_version'"))
    with pytest.raises(CodesignError, match="schema version 99, newer"):
        Store(store_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("select count(*) from variants")).scalar() == 1


def test_an_unopenable_url_is_one_line_error(tmp_path):
    with pytest.raises(CodesignError, match="missing-dir does not exist"):
        Store(f"sqlite:///{tmp_path}/missing-dir/x.db")
    with pytest.raises(CodesignError, match="cannot open store"):
        Store("notadb://what")


def test_adding_the_same_variant_twice_keeps_one_row(store_url):
    store = Store(store_url)
    first = _variant(store, "same")
    second = _variant(store, "same")
    assert first == second
    assert store.counts()["variants"] == 1


def test_predictions_are_stored_once_per_item(store_url):
    store = Store(store_url)
    vid = _variant(store)
    preds = [Prediction("ethics", f"i{i}", "wrong", "wrong", False, 10, 2) for i in range(5)]
    assert store.add_predictions(vid, preds[:3]) == 3
    assert store.add_predictions(vid, preds) == 2
    assert store.predicted_item_ids(vid, "ethics") == {f"i{i}" for i in range(5)}
    frame = store.predictions_frame("ethics")
    assert len(frame) == 5 and set(frame["label"]) == {"wrong"}


def test_a_failed_transaction_writes_nothing(store_url):
    store = Store(store_url)
    vid = _variant(store)
    with pytest.raises(RuntimeError), store.session() as s:
        from codesign.store import PredictionRow

        s.add(
            PredictionRow(
                variant_id=vid,
                suite="x",
                item_id="1",
                raw="",
                label="a",
                refused=False,
                prompt_tokens=1,
                generated_tokens=1,
            )
        )
        s.flush()
        raise RuntimeError("killed mid-write")
    assert store.counts()["predictions"] == 0


def test_list_refuses_a_store_that_does_not_exist_yet(store_url):
    with pytest.raises(CodesignError, match="no store file"):
        Store(store_url, create=False)


def test_a_schema_1_store_gains_the_host_columns_and_keeps_its_profiles(store_url):
    store = Store(store_url)
    variant = _variant(store)
    with store.engine.begin() as conn:
        conn.execute(text("alter table profiles drop column host_bandwidth_gbs"))
        conn.execute(text("alter table profiles drop column host_peak_tflops"))
        conn.execute(text("alter table profiles drop column host_kernels"))
        conn.execute(text("update meta set value='1' where key='schema_version'"))
        conn.execute(
            text(
                "insert into profiles (variant_id, workload, device, dtype, kernel, real_low_bit,"
                " synthetic_weights, prompt_len, decode_tokens, batch_size, repeats, prefill_ms,"
                " prefill_ms_iqr, decode_ms_per_token, decode_ms_per_token_iqr, tokens_per_s,"
                " weight_bytes_memory, peak_memory_bytes, memory_method, versions, created_at)"
                " values"
                f" ({variant}, 'w', 'cpu: x', 'float32', 'torch', false, false, 8, 8, 1, 3, 1.0,"
                " 0.1, 2.0, 0.1, 500.0, 10, 20, 'rss', '{}', '2026-01-01 00:00:00')"
            )
        )
    reopened = Store(store_url)
    frame = reopened.profiles_frame()
    assert len(frame) == 1 and frame.iloc[0]["decode_ms_per_token"] == 2.0
    assert pd.isna(frame.iloc[0]["host_bandwidth_gbs"])
    assert frame.iloc[0]["host_kernels"] is None
    with reopened.engine.connect() as conn:
        value = conn.execute(text("select value from meta where key='schema_version'")).scalar()
    assert int(value) == SCHEMA_VERSION


PG = os.environ.get("CODESIGN_TEST_POSTGRES_URL")
needs_pg = pytest.mark.skipif(
    not PG, reason="no PostgreSQL server: .ci/run sets CODESIGN_TEST_POSTGRES_URL"
)
DATABASES = ["sqlite", pytest.param("postgresql", marks=needs_pg)]


def _new_store_url(kind: str, tmp_path, name: str = "store") -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    return fresh_database(PG, "codesign_store")


@needs_pg
def test_a_schema_2_postgresql_store_gets_unbounded_text_and_keeps_its_rows():
    """Schema 2 bounded text columns (memory_method was VARCHAR(100)); PostgreSQL enforces the
    lengths, so a CPU profile's 163-character memory method failed there. Opening upgrades."""
    url = fresh_database(PG, "codesign_schema2")
    store = Store(url)
    variant = _variant(store)
    with store.engine.begin() as conn:
        conn.execute(text("alter table profiles alter column memory_method type varchar(100)"))
        conn.execute(text("alter table predictions alter column item_id type varchar(200)"))
        conn.execute(text("update meta set value='2' where key='schema_version'"))
    store.engine.dispose()
    reopened = Store(url)
    types = {
        (c["name"]): type(c["type"]).__name__.upper()
        for c in inspect(reopened.engine).get_columns("profiles")
    }
    assert types["memory_method"] == "TEXT"
    method = "peak RSS of the forked profiling process " * 5  # longer than any old bound
    reopened.add_profile(
        variant_id=variant, workload="w", device="cpu: x", dtype="float32", kernel="torch",
        real_low_bit=False, prompt_len=8, decode_tokens=8, batch_size=1, repeats=3,
        prefill_ms=1.0, prefill_ms_iqr=0.1, decode_ms_per_token=2.0, decode_ms_per_token_iqr=0.1,
        tokens_per_s=500.0, weight_bytes_memory=10, peak_memory_bytes=20, memory_method=method,
        versions={},
    )  # fmt: skip
    assert reopened.profiles()[0][0].memory_method == method
    assert reopened.counts()["variants"] == 1
    with reopened.engine.connect() as conn:
        value = conn.execute(text("select value from meta where key='schema_version'")).scalar()
    assert int(value) == SCHEMA_VERSION


def _open_together(url: str, barrier, index: int, errors) -> None:
    """One of several processes: open a new store at the same instant as the others, then
    record the same model and variant and a metric (as evaluate workers starting together)."""
    try:
        barrier.wait(timeout=60)
        store = Store(url)
        _variant(store, "shared")
        store.put_variant_metric(1, "m", float(index), {})
    except BaseException as exc:  # noqa: BLE001 - reported to the test, whatever it is
        errors.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("kind", DATABASES)
def test_four_processes_opening_a_new_store_at_once_all_succeed(kind, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(3):
        url = _new_store_url(kind, tmp_path, f"round{round_}")
        barrier, errors = ctx.Barrier(4), ctx.Queue()
        procs = [
            ctx.Process(target=_open_together, args=(url, barrier, i, errors)) for i in range(4)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        failures = []
        while not errors.empty():
            failures.append(errors.get())
        assert not failures, f"round {round_}: {failures}"
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
        store = Store(url)
        assert store.counts()["models"] == 1 and store.counts()["variants"] == 1
