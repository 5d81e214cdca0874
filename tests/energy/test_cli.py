"""`hadeq energy` and `hadeq spice` through hadeq.cli.main.main."""

from __future__ import annotations

import json

import pytest

from hadeq.cli.main import main


def test_energy_json(capsys, tmp_path) -> None:
    out = tmp_path / "e.json"
    rc = main(["energy", "--neurons", "32", "--iterations", "20,20", "--settling-time-ns", "80",
               "--set", "adc_bits=6", "--json", "--out", str(out)])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(out.read_text())
    assert data["config"]["adc_bits"] == 6
    h = data["hybrid_deq"]["energy_j"]
    assert h["adc"] == pytest.approx(32 * 3.1e-3 / 1.2e9 / 4)  # 8-bit design point at 6 bits
    assert data["config"]["periphery_power_per_column_w"] > 0  # the calibrated config
    assert data["energy_ratio_digital_over_hybrid"] > 1


def test_energy_table_and_measurement(capsys) -> None:
    rc = main(["energy", "--neurons", "8", "--samples", "2", "--seed", "3"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "amplifier" in text and "energy ratio" in text


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["energy", "--set", "adc_bitz=4"], "adc_bitz"),
        (["energy", "--set", "adc_bits=99"], "adc_bits"),
        (["energy", "--neurons", "0", "--iterations", "3", "--settling-time-ns", "3"], "--neurons"),
        (["energy", "--iterations", "a,b", "--settling-time-ns", "3"], "--iterations"),
        (["spice", "--norm", "1.5"], "--norm"),
        (["spice", "--neurons", "0"], "--neurons"),
        (["spice", "--v-read-v", "0.5"], "--v-read-v"),  # beyond the rails ±0.4 V
    ],
)
def test_bad_input_exit_2_one_line(capsys, tmp_path, argv: list[str], field: str) -> None:
    out = tmp_path / "never"
    rc = main([*argv, "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err
    assert not out.exists()


def test_help_texts(capsys) -> None:
    for cmd in ("energy", "spice"):
        with pytest.raises(SystemExit) as info:
            main([cmd, "--help"])
        assert info.value.code == 0
        assert "--out" in capsys.readouterr().out


def test_spice_cli(ngspice: str, capsys, tmp_path) -> None:
    rc = main(["spice", "--neurons", "8", "--seed", "1", "--out", str(tmp_path),
               "--keep-netlist", "--json"])
    assert rc == 0
    data = json.loads((tmp_path / "spice.json").read_text())
    assert data == json.loads(capsys.readouterr().out)
    assert data["z_rel_err_fixed_point"] < 0.01
    assert (tmp_path / "core.cir").read_text().startswith("hadeq analog DEQ core")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["core.cir", "spice.json"]
