"""The store's PostgreSQL server goes away mid-evaluate: a short outage is ridden out; a long one
ends the command with one line (exit 1, not "a bug"), nothing stored is lost, and the rerun,
once the server is back, finishes the work. Runs a PostgreSQL server of its own (Debian's
binaries, as .ci/run installs them), so that stopping it touches no other test."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from codesign.store import Store, WorkUnitRow
from codesign.testing.postgres import LocalServer

pytestmark = pytest.mark.skipif(
    not LocalServer.available(), reason="no PostgreSQL server binaries (.ci/run installs them)"
)


@pytest.fixture
def server():
    local = LocalServer().create()
    yield local
    local.remove()


def _command(model, url: str) -> list[str]:
    cmd = [sys.executable, "-m", "codesign.measurements", "evaluate", "--model", str(model)]
    cmd += ["--method", "gptq", "--bits", "4,8", "--calib-samples", "4", "--calib-seq-len", "32"]
    cmd += ["--suites", "ethics,ood", "--limit", "2", "--max-batch-tokens", "256", "--store", url]
    return cmd


def _when_a_unit_is_claimed(url: str, proc: subprocess.Popen) -> None:
    """Once ``proc`` holds a unit (an earlier run's unit may still read as claimed)."""
    mine = f"%:{proc.pid}"

    def claimed() -> bool:
        try:
            with Store(url, create=False).session() as s:
                query = select(WorkUnitRow.id).where(
                    WorkUnitRow.kind == "evaluate",
                    WorkUnitRow.state == "claimed",
                    WorkUnitRow.owner.like(mine),
                )
                return s.scalar(query) is not None
        except Exception:  # noqa: BLE001 - not created yet
            return False

    deadline = time.time() + 600
    while not claimed():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.05)


def test_an_outage_is_ridden_out_or_ends_in_one_line_and_the_rerun_finishes(
    tiny_llama, tmp_path, server
):
    cache = tmp_path / "cache"
    env = dict(os.environ, CODESIGN_CACHE=str(cache), CODESIGN_STORE_RETRY_S="3")
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    done = subprocess.run(
        _command(tiny_llama, reference), env=env, capture_output=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = len(Store(reference).predictions_frame())

    # a long outage: one line, exit 1
    proc = subprocess.Popen(
        _command(tiny_llama, server.url), env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _when_a_unit_is_claimed(server.url, proc)
    server.stop()
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err[-3000:]
    assert "Traceback" not in err and "bug" not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert "is unreachable" in last and "nothing stored was lost" in last, last

    # back again: a short outage during the rerun is waited for, and the work completes
    server.start()
    proc = subprocess.Popen(
        _command(tiny_llama, server.url), env=dict(env, CODESIGN_STORE_RETRY_S="120"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _when_a_unit_is_claimed(server.url, proc)
    server.stop()
    time.sleep(3)
    server.start()
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    frame = Store(server.url).predictions_frame()
    assert len(frame) == expected
    assert not frame.duplicated(["variant_key", "suite", "item_id"]).any()
