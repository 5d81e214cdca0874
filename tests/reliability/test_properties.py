"""Property-based tests: config validation and solver invariants on random inputs.

Configs: random valid configs survive ``to_dict`` → ``from_mapping`` unchanged; random
invalid values always raise :class:`ConfigError` (never another exception type).

Solvers: for every registered solver, a random contraction ``f(z) = tanh(Wz + b)``
(``‖W‖₂ < 1``) is solved from a random start; the result is checked against an
independent reference (a long float64 Picard iteration written here) with the a-posteriori
bound ``‖z − z*‖ ≤ ‖f(z) − z‖ / (1 − L)``, and the statistics are checked against the
returned ``z``: the reported residual equals a residual recomputed here, ``converged``
holds exactly when it is ≤ the tolerance, and nothing is NaN.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hadeq
from hadeq.analog import HardwareConfig
from hadeq.errors import ConfigError
from hadeq.solvers import IterateOptions
from hadeq.training import parse_train_config
from hadeq.validation import from_mapping, to_dict

FAST = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# ------------------------------------------------------------------------------ configs
bits = st.none() | st.integers(1, 16)
fraction = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def hardware_configs(draw: st.DrawFn) -> HardwareConfig:
    device = draw(st.sampled_from(["ideal", "gaussian", "pcm"]))
    output_bits = draw(bits)
    fields: dict[str, Any] = {
        "weight_bits": draw(bits),
        "input_bits": draw(bits),
        "output_bits": output_bits,
        "output_range": draw(st.floats(0.1, 100.0)) if output_bits is not None
        else draw(st.none() | st.floats(0.1, 100.0)),
        "input_range": draw(st.none() | st.floats(1e-3, 1e3)),
        "g_max_us": draw(st.floats(1.0, 100.0)),
        "read_noise": draw(fraction),
        "device_model": device,
        "weight_scale": draw(st.sampled_from(["layer", "column"])),
        "tile_rows": draw(st.integers(1, 1024)),
        "tile_cols": draw(st.integers(1, 1024)),
        "gain_mismatch": draw(st.floats(0.0, 0.99)),
        "offset_mismatch": draw(fraction),
        "wire_resistance_ohm": draw(st.floats(0.0, 10.0)),
    }
    if device == "gaussian":
        fields["programming_noise"] = draw(fraction)
    if device == "pcm":
        fields["t_inference_s"] = draw(st.floats(0.0, 1e6))
        fields["drift_compensation"] = draw(st.booleans())
        fields["pcm_noise_scale"] = draw(st.floats(0.0, 2.0))
    return HardwareConfig(**fields)


@FAST
@given(hardware_configs())
def test_hardware_config_round_trips(hw: HardwareConfig) -> None:
    data = hw.to_dict()
    assert HardwareConfig.parse(data) == hw
    assert from_mapping(HardwareConfig, data) == hw
    assert all(isinstance(v, (int, float, str, bool, type(None))) for v in data.values())


@FAST
@given(tol=st.floats(1e-12, 1.0), stop=st.sampled_from(["abs", "rel", "mixed"]),
       max_iter=st.integers(1, 10_000), window=st.integers(0, 100),
       decrease=st.floats(1e-6, 0.999), per_sample=st.booleans())
def test_iterate_options_round_trip(tol: float, stop: str, max_iter: int, window: int,
                                    decrease: float, per_sample: bool) -> None:
    opts = IterateOptions(tol=tol, stop_mode=stop, max_iter=max_iter, stagnation_window=window,  # type: ignore[arg-type]
                          stagnation_decrease=decrease, per_sample=per_sample)
    assert from_mapping(IterateOptions, to_dict(opts)) == opts


# Values that are wrong for any numeric field, and per-field out-of-range values.
garbage = st.sampled_from([float("nan"), float("inf"), -float("inf"), "0.1", [1], {"a": 1},
                           True, object()])
BAD_HARDWARE: dict[str, st.SearchStrategy[Any]] = {
    "weight_bits": st.integers(-1000, 0) | st.integers(17, 1000) | st.floats(1.1, 15.9),
    "input_bits": st.integers(-1000, 0) | st.integers(17, 1000),
    "read_noise": st.floats(-1e6, -1e-9),
    "g_max_us": st.floats(-1e6, 0.0),
    "gain_mismatch": st.floats(1.0, 1e6),
    "offset_mismatch": st.floats(-1e6, -1e-9),
    "tile_rows": st.integers(-100, 0),
    "device_model": st.text(max_size=8).filter(lambda s: s not in ("ideal", "gaussian", "pcm")),
    "programming_noise": st.floats(1e-6, 1.0),  # nonzero needs device_model='gaussian'
    "t_inference_s": st.floats(1e-3, 1e6),  # pcm-only option on an ideal device
}


@FAST
@given(data=st.data(), field=st.sampled_from(sorted(BAD_HARDWARE)))
def test_invalid_hardware_values_raise_config_error(data: st.DataObject, field: str) -> None:
    value = data.draw(BAD_HARDWARE[field] | garbage)
    with pytest.raises(ConfigError) as info:
        HardwareConfig.parse({field: value})
    assert field in info.value.field or field in str(info.value)


BAD_LOOP: dict[str, st.SearchStrategy[Any]] = {
    "tol": st.floats(-1e6, 0.0),
    "rtol": st.floats(-1e6, -1e-12),
    "max_iter": st.integers(-100, 0) | st.floats(1.5, 9.5),
    "stop_mode": st.text(max_size=6).filter(lambda s: s not in ("abs", "rel", "mixed")),
    "stagnation_decrease": st.floats(1.0, 1e3) | st.floats(-1e3, 0.0),
    "on_nonfinite": st.text(max_size=6).filter(lambda s: s not in ("warn", "raise")),
}


@FAST
@given(data=st.data(), field=st.sampled_from(sorted(BAD_LOOP)),
       solver=st.sampled_from(["picard", "anderson", "broyden"]))
def test_invalid_solver_options_raise_config_error(data: st.DataObject, field: str,
                                                   solver: str) -> None:
    value = data.draw(BAD_LOOP[field] | garbage)
    with pytest.raises(ConfigError):
        hadeq.DEQ(solver=solver, solver_options={field: value})


TRAIN_BASE = {"task": "digits", "model": {"kind": "hybrid_deq", "hidden": 8}, "epochs": 1}
BAD_TRAIN: dict[str, st.SearchStrategy[Any]] = {
    "epochs": st.integers(-100, 0),
    "batch_size": st.integers(-100, 0) | st.floats(0.5, 10.5),
    "seed": st.integers(-100, -1),
    "programming_resample": st.text(max_size=6).filter(
        lambda s: s not in ("never", "epoch", "batch")),
    "task": st.text(max_size=10).filter(lambda s: s not in ("digits", "darcy32", "burgers")),
    "optimizer": st.fixed_dictionaries({"lr": st.floats(-1.0, 0.0)}),
    "model": st.fixed_dictionaries({"kind": st.just("hybrid_deq"),
                                    "hidden": st.integers(-10, 0)}),
}


@FAST
@given(data=st.data(), field=st.sampled_from(sorted(BAD_TRAIN)),
       extra_key=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_invalid_train_configs_raise_config_error(data: st.DataObject, field: str,
                                                  extra_key: str) -> None:
    value = data.draw(BAD_TRAIN[field] | garbage)
    with pytest.raises(ConfigError):
        parse_train_config({**TRAIN_BASE, field: value})
    known = {"task", "task_options", "model", "physics", "optimizer", "epochs", "batch_size",
             "eval_batch_size", "max_train_samples", "max_test_samples", "seed",
             "programming_resample", "eval_hardware", "eval_seed", "out_dir", "deterministic"}
    if extra_key not in known:  # an unknown key is refused by name, never ignored
        with pytest.raises(ConfigError) as info:
            parse_train_config({**TRAIN_BASE, extra_key: 1})
        assert extra_key in str(info.value)


# ------------------------------------------------------------------------------ solvers
NUMERICAL = [name for name in hadeq.available_solvers()]
# Extra options per solver so the test terminates quickly (relaxation takes Euler steps).
SOLVER_OPTIONS: dict[str, dict[str, Any]] = {"analog_relaxation": {"dt_ns": 2.0}}


@st.composite
def contractions(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    d = draw(st.integers(1, 8))
    batch = draw(st.integers(1, 4))
    lip = draw(st.floats(0.05, 0.8))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([0.0, 1.0, 10.0, 1e3]))
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, d, dtype=torch.float64, generator=g)
    w = w * (lip / torch.linalg.matrix_norm(w, ord=2).clamp_min(1e-12))
    b = torch.randn(batch, d, dtype=torch.float64, generator=g)
    z0 = scale * torch.randn(batch, d, dtype=torch.float64, generator=g)
    return w, b, z0, lip


def _reference(w: torch.Tensor, b: torch.Tensor, lip: float) -> torch.Tensor:
    """z* by plain Picard iteration in float64, to machine precision."""
    z = torch.zeros_like(b)
    steps = int(math.log(1e-17) / math.log(lip)) + 5
    for _ in range(steps):
        z = torch.tanh(z @ w.T + b)
    return z


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@FAST
@given(problem=contractions(), solver=st.sampled_from(NUMERICAL),
       stop_mode=st.sampled_from(["abs", "rel"]), tol=st.sampled_from([1e-6, 1e-8, 1e-10]))
def test_solver_finds_the_fixed_point_from_any_start(problem, solver: str, stop_mode: str,
                                                     tol: float) -> None:
    w, b, z0, lip = problem

    def f(z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z @ w.T + b)

    z, stats = hadeq.solve(f, z0, solver=solver, tol=tol, stop_mode=stop_mode, max_iter=3000,
                           stagnation_window=0, **SOLVER_OPTIONS.get(solver, {}))
    assert z.shape == z0.shape and z.dtype == z0.dtype
    assert torch.isfinite(z).all() and torch.isfinite(stats.residual).all()
    assert not stats.nonfinite.any()
    # Stats agree with the returned z (residual recomputed here, independently).
    fz = f(z)
    r = torch.linalg.vector_norm(fz - z, dim=1)
    if stop_mode == "rel":
        r = r / torch.maximum(torch.linalg.vector_norm(fz, dim=1),
                              torch.linalg.vector_norm(z, dim=1)).clamp_min(1e-300)
    torch.testing.assert_close(stats.residual, r, rtol=1e-9, atol=1e-15)
    assert torch.equal(stats.converged, stats.residual <= stats.tol)
    assert stats.tol == tol
    assert not (stats.converged & stats.stagnated).any()
    assert (stats.iterations >= 1).all() and (stats.iterations <= 3000).all()
    # A contraction is solved from any start, to within the a-posteriori error bound.
    assert stats.all_converged, stats
    z_star = _reference(w, b, lip)
    abs_res = torch.linalg.vector_norm(fz - z, dim=1)
    err = torch.linalg.vector_norm(z - z_star, dim=1)
    assert (err <= abs_res / (1 - lip) + 1e-12).all()
