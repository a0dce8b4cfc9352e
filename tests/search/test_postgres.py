"""Many workers, one study on a real PostgreSQL server: every trial recorded exactly once.

Needs a server: `.ci/run` starts one on loopback (scripts/postgres-for-tests.sh) and sets
CODESIGN_TEST_POSTGRES_URL; without it these tests skip and say why.
"""

from __future__ import annotations

import os
import uuid

import optuna
import pytest
from optuna.trial import TrialState

from codesign.search.cli import entry
from codesign.testing.synthetic_store import build_synthetic_store
from tests.search.conftest import SMALL_SPACE

URL = os.environ.get("CODESIGN_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(
    not URL,
    reason="no PostgreSQL server: set CODESIGN_TEST_POSTGRES_URL=postgresql+psycopg://user@host/db "
    "(.ci/run starts one with scripts/postgres-for-tests.sh)",
)


def test_four_workers_record_every_trial_exactly_once(tmp_path, capsys):
    build_synthetic_store(URL)  # idempotent: rows already there are kept, none duplicated
    study_name = f"pg-workers-{uuid.uuid4().hex[:8]}"
    argv = ["--store", URL, "--no-measure", "--study", study_name, *SMALL_SPACE]
    argv += ["--out", str(tmp_path), "--sampler", "tpe", "--workers", "4"]
    assert entry([*argv, "--n-trials", "24"]) == 0, capsys.readouterr().err
    # a second command joins the same study and brings it to the new total
    assert entry([*argv, "--n-trials", "40"]) == 0, capsys.readouterr().err
    study = optuna.load_study(study_name=study_name, storage=URL)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 40
    assert sorted(t.number for t in trials) == list(range(40))
    assert {t.state for t in trials} == {TrialState.COMPLETE}
    assert len({t._trial_id for t in trials}) == 40
