"""Area compared as like with like: scaled to one node, ranked only within one area scope."""

from __future__ import annotations

import json

import numpy as np
import pytest
from optuna.trial import TrialState

from codesign.search.cli import entry
from codesign.search.objective import area_objective
from codesign.search.pareto import non_dominated
from tests.search.conftest import SMALL_SPACE, search_args

TWO_SCOPES = tuple("stripes,h100" if a == "stripes" else a for a in SMALL_SPACE)


def test_area_ranks_only_within_a_scope():
    # minimised columns: -trust, latency, energy, area; a die and an array, equal but for area
    points = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 5.0]])
    assert non_dominated(points).tolist() == [True, False]  # one scale: the smaller area wins
    assert non_dominated(points, ["die", "array"], 3).tolist() == [True, True]
    # across scopes the other objectives still decide
    worse = np.array([[1.0, 1.0, 1.0, 9.0], [2.0, 2.0, 2.0, 1.0]])
    assert non_dominated(worse, ["die", "array"], 3).tolist() == [True, False]


def test_area_objective_scales_to_the_node_and_keeps_the_phy():
    pre = {
        "area_mm2": np.array([814.0]),
        "dram_phy_mm2": np.array([14.0]),
        "tech_nm": np.array([4.0]),
    }
    assert area_objective(pre, None) == 814.0
    assert area_objective(pre, 45.0) == pytest.approx(800.0 * (45 / 4) ** 2 + 14.0)
    unknown = {**pre, "tech_nm": np.array([np.nan])}
    assert area_objective(unknown, 45.0) == 814.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--area-node", "tiny"), "--area-node: must be a node in nm from 1 to 1,000, or"),
        (("--area-scope", "die", *SMALL_SPACE), "--area-scope die: no candidate unit's area"),
    ],
)
def test_bad_area_settings_exit_2_before_any_work(search_store, tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    try:
        code = entry([*search_args(search_store, out), *argv])
    except SystemExit as exc:  # argparse's own errors leave through SystemExit(2)
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def _dominates(a, b, same_scope: bool) -> bool:
    """Plain Python, independent of search.pareto: area counts only within one scope."""
    signs = (-1, 1, 1, 1)
    pairs = [(s * x, s * y) for s, x, y in zip(signs, a, b, strict=True)]
    if not same_scope:
        pairs = pairs[:3]
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def test_the_front_scales_gpu_dies_and_never_ranks_them_against_arrays(
    search_store, tmp_path, capsys
):
    out = tmp_path / "out"
    code = entry([*search_args(search_store, out), *TWO_SCOPES, "--exhaustive"])
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "pareto.json").read_text())
    assert result["area"]["node_nm"] == 45 and result["area"]["scope"] == "each"
    h100 = [r for r in result["pareto"] if r["unit"] == "h100"]
    assert h100 and all(r["area_mm2_native"] == pytest.approx(814.0) for r in h100)
    assert all(r["area_mm2"] == pytest.approx(814.0 * (45 / 4) ** 2, rel=1e-3) for r in h100)
    import optuna

    study = optuna.load_study(study_name=result["study"], storage=search_store)
    ok = [
        t
        for t in study.get_trials(states=(TrialState.COMPLETE,))
        if all(v <= 0 for v in t.constraints.values())
    ]
    scope = {t.number: t.user_attrs["metrics"]["area_group"] for t in ok}
    front = {
        t.number
        for t in ok
        if not any(
            _dominates(o.values, t.values, scope[o.number] == scope[t.number])
            for o in ok
            if o is not t
        )
    }
    assert {r["trial"] for r in result["pareto"]} <= front  # equivalent rows collapse into one
    assert {"die", "array"} <= set(scope.values())
    summary = (out / "summary.md").read_text()
    assert "best area_mm2 (die, at 45 nm)" in summary
    assert "best area_mm2 (array + SRAM + DRAM PHY, at 45 nm)" in summary
