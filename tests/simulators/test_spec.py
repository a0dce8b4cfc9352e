"""Unit specs: bundled presets load; malformed specs fail in one line naming field and file."""

from __future__ import annotations

import pytest
import yaml

from codesign.errors import CodesignError
from codesign.simulators import FAMILIES, bundled_units, load_unit
from codesign.simulators.cli import main

from .conftest import accelerator

REQUIRED_FAMILIES = {"fixed", "fusible", "bit-serial", "heterogeneous", "bitplane", "roofline"}


def test_every_family_the_issue_names_is_registered():
    assert set(FAMILIES.names()) >= REQUIRED_FAMILIES


def test_bundled_units_cover_every_family_and_both_gpus():
    families = {load_unit(name, resolve=False).family for name in bundled_units()}
    assert families >= REQUIRED_FAMILIES
    assert {"h100", "a100", "cpu", "bitfusion"} <= set(bundled_units())


def write(tmp_path, data, name="unit.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"array": {"rows": "many", "cols": 4}}, "array.rows", "integer"),
        ({"clock_mhz": -5}, "clock_mhz", ">="),
        ({"clok_mhz": 500}, "clok_mhz", "not a field"),
        ({"bits": 17}, "bits", "16"),
        ({"weight_storage": "zip"}, "weight_storage", "one of"),
    ],
)
def test_malformed_field_is_named_with_the_file(tmp_path, change, field, problem):
    data = accelerator("fixed", bits=8)
    data.update(change)
    path = write(tmp_path, data)
    with pytest.raises(CodesignError) as err:
        load_unit(str(path))
    message = str(err.value)
    assert f"'{field}'" in message and str(path) in message and problem in message
    assert "\n" not in message


def test_missing_required_field_is_named(tmp_path):
    data = accelerator("fusible")
    del data["dram"]
    with pytest.raises(CodesignError, match=r"unit\.yaml: field 'dram.bandwidth_gbs' is required"):
        load_unit(str(write(tmp_path, data)))


def test_unknown_family_is_named(tmp_path):
    with pytest.raises(CodesignError, match=r"unit\.yaml: field 'family' is 'tpu'"):
        load_unit(str(write(tmp_path, accelerator("tpu"))))


def test_heterogeneous_sub_array_fields_are_named(tmp_path):
    data = accelerator("heterogeneous", arrays=[{"bits": 8, "rows": 0, "cols": 4}])
    with pytest.raises(CodesignError, match=r"field 'arrays\[0\]\.rows'"):
        load_unit(str(write(tmp_path, data)))


def test_fusible_max_bits_must_be_bricks_times_a_power_of_two(tmp_path):
    with pytest.raises(CodesignError, match="max_bits"):
        load_unit(str(write(tmp_path, accelerator("fusible", max_bits=6))))


def test_broken_yaml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "name: x\nfamily: [fixed\n")
    with pytest.raises(CodesignError, match=r"unit\.yaml: not valid YAML at line"):
        load_unit(str(path))


def test_user_spec_file_is_accepted(tmp_path):
    spec = load_unit(str(write(tmp_path, accelerator("bit-serial", max_bits=8))))
    assert spec.family == "bit-serial" and spec.params["max_bits"] == 8
    assert spec.label() == "modelled (analytical, test-bit-serial spec)"


def test_overrides_set_dotted_fields_and_are_checked():
    spec = load_unit("bitfusion", {"dram.bandwidth_gbs": 51.2})
    assert spec.params["dram.bandwidth_gbs"] == 51.2
    with pytest.raises(CodesignError, match="dram.bandwidth_gbs"):
        load_unit("bitfusion", {"dram.bandwidth_gbs": "fast"})


def test_gpu_specs_take_their_numbers_from_the_datasheet_table():
    h100 = load_unit("h100")
    assert h100.params["bandwidth_gbs"] == 3350.0 and h100.params["peak_tflops"] == 989.5
    assert load_unit("a100").params["bandwidth_gbs"] == 2039.0


def test_cli_prints_one_line_error_for_a_malformed_spec(tmp_path, capsys):
    path = write(tmp_path, accelerator("fixed", bits="eight"))
    assert main(["--unit", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "'bits'" in err and str(path) in err
    assert len(err.splitlines()) == 1
