"""Noisy solves stop at the floor their known noise sets: the floor formula against the
residual that noise alone produces, the stop itself (early, as accurate as iterating on),
its report (not a convergence failure), and the analog layers' noise level ρ."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import hadeq
from hadeq.analog import AnalogLinear, HardwareConfig
from hadeq.analog.spectral import AnalogSpectralMix
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig, HybridDEQ, HybridDEQConfig
from hadeq.solvers import IterateOptions
from hadeq.solvers.loop import noise_floor, residual
from tests.deq.maps import DenseMap


def _noisy(fmap, x, rho, seed=7):
    """``f(z) + ρ·max|z|·ξ`` with fresh ``ξ ~ N(0, I)`` at every call."""
    gen = torch.Generator().manual_seed(seed)

    def f(z):
        peak = z.abs().amax(dim=1, keepdim=True)
        return fmap(z, x) + rho * peak * torch.randn(z.shape, dtype=z.dtype, generator=gen)

    return f


@pytest.mark.parametrize("stop_mode", ["abs", "rel", "mixed"])
def test_floor_is_the_residual_the_noise_gives_at_the_exact_fixed_point(stop_mode, generator):
    d, batch, rho = 256, 400, 1e-3
    fmap = DenseMap(d, 4, 0.7, generator)
    x = torch.randn(batch, 4, dtype=torch.float64, generator=generator)
    exact, _ = hadeq.solve(fmap.bind(x), torch.zeros(batch, d, dtype=torch.float64),
                           tol=1e-13, stop_mode="abs", max_iter=400)
    options = IterateOptions(tol=1e-6, rtol=1e-6, stop_mode=stop_mode, noise_floor=rho)
    fz = _noisy(fmap, x, rho)(exact)
    with torch.no_grad():
        measured, predicted = residual(exact, fz, options), noise_floor(exact, fz, options)
    if stop_mode == "mixed":  # a maximum over elements: the right order, not the mean
        assert 0.3 < float((measured / predicted).median()) < 1.5
    else:
        assert float((measured / predicted).mean()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("solver", ["picard", "anderson", "broyden"])
def test_noisy_solve_stops_at_its_floor_early_within_one_read_of_the_fixed_point(solver, generator):
    d, batch, rho = 64, 16, 1e-4
    fmap = DenseMap(d, 4, 0.8, generator)
    x = torch.randn(batch, 4, dtype=torch.float64, generator=generator)
    z0 = torch.zeros(batch, d, dtype=torch.float64)
    exact, _ = hadeq.solve(fmap.bind(x), z0, tol=1e-13, stop_mode="abs", max_iter=400)
    common = {"solver": solver, "tol": 1e-9, "stop_mode": "rel", "max_iter": 200}
    z_floor, at_floor = hadeq.solve(_noisy(fmap, x, rho), z0, noise_floor=rho, **common)
    z_long, long = hadeq.solve(_noisy(fmap, x, rho), z0, **common)
    assert at_floor.stagnated.all() and not at_floor.converged.any()
    assert not at_floor.unconverged.any()
    assert float(at_floor.iterations.float().mean()) < 0.5 * float(long.iterations.float().mean())
    floor = at_floor.extras["noise_floor"]
    assert bool(torch.isfinite(floor).all())
    assert bool((at_floor.residual <= 2 * floor).all())
    # Within the noise of one evaluation, ρ·max|z|·√d, of the exact fixed point (iterating
    # on only averages more evaluations of the noise).
    one_read = rho * exact.abs().amax(dim=1) * math.sqrt(d)
    assert bool((torch.linalg.vector_norm(z_floor - exact, dim=1) < 2.0 * one_read).all())
    assert bool((torch.linalg.vector_norm(z_long - exact, dim=1) < 2.0 * one_read).all())


def test_samples_at_their_floor_are_reported_not_warned_about(generator):
    fmap = DenseMap(32, 4, 0.7, generator)
    x = torch.randn(8, 4, dtype=torch.float64, generator=generator)
    z0 = torch.zeros(8, 32, dtype=torch.float64)
    deq = hadeq.DEQ(solver="anderson", solver_options={"tol": 1e-9, "max_iter": 100})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, stats = deq(_noisy(fmap, x, 1e-4), z0, noise_floor=1e-4)
    assert stats.stagnated.all()
    text = repr(stats)
    assert "at noise floor=8 after" in text and "floor " in text and "unconverged=0" in text
    # Too few iterations to reach the floor: those samples did not converge and say so.
    short = hadeq.DEQ(solver="picard", solver_options={"tol": 1e-9, "max_iter": 3})
    with pytest.warns(RuntimeWarning, match="8 of 8 samples did not converge"):
        _, stats = short(_noisy(fmap, x, 1e-4), z0, noise_floor=1e-4)
    assert stats.unconverged.all()


@pytest.mark.parametrize("tiles", [1, 3])
def test_read_noise_level_is_the_noise_std_per_max_abs_input(tiles):
    torch.manual_seed(0)
    n_in = 32 * tiles
    hw = HardwareConfig(read_noise=0.05, tile_rows=32)
    layer = AnalogLinear.from_linear(nn.Linear(n_in, 48), hw)
    x = torch.randn(4000, n_in)
    with torch.no_grad():
        noise = (layer(x) - layer.ideal_forward(x)) / x.abs().amax(dim=1, keepdim=True)
    assert float(noise.std()) == pytest.approx(layer.read_noise_level(), rel=0.03)
    assert AnalogLinear(4, 4, hardware=HardwareConfig(input_range=1.0)).read_noise_level() is None
    assert AnalogLinear(4, 4, hardware=HardwareConfig(weight_bits=4)).read_noise_level() == 0.0


@pytest.mark.parametrize("channels, modes", [(12, 8), (2, 6)])
def test_spectral_read_noise_level_bounds_the_field_noise_and_smooth_fields_approach_it(
        channels, modes):
    """The spectral path's ρ against the measured noise of its output per ``max|z|``: a
    bound for every field, approached (within a small factor) by a smooth one, far from
    it for white noise (whose energy spreads over modes the path does not read)."""
    torch.manual_seed(0)
    hw = HardwareConfig(read_noise=0.05, input_bits=8, output_bits=8, output_range=10.0)
    layer = AnalogSpectralMix(channels, channels, modes, hw)
    rho = layer.read_noise_level()
    n = 24
    grid = torch.arange(1, n + 1, dtype=torch.float32) * math.pi / (n + 1)
    bump = torch.sin(grid)[:, None] * torch.sin(grid)[None, :]
    fields = {"constant": torch.ones(400, channels, n, n),
              "bump": bump.expand(400, channels, n, n).clone(),
              "white": torch.randn(400, channels, n, n)}
    ratio = {}
    for name, z in fields.items():
        with torch.no_grad():
            noise = layer(z) - layer.frozen_forward(z)
        ratio[name] = float(noise.std(dim=0).amax() / z.abs().amax()) / rho
    assert max(ratio.values()) <= 1.0
    assert ratio["constant"] > 0.2 and ratio["white"] < 0.1
    assert AnalogSpectralMix(2, 2, 2, HardwareConfig(input_range=1.0)).read_noise_level() is None
    assert AnalogSpectralMix(2, 2, 2, HardwareConfig(weight_bits=4)).read_noise_level() == 0.0


def test_physics_aware_conv_hybrid_with_a_spectral_path_stops_at_the_floor(monkeypatch):
    """Without the spectral path's noise level these solves ran on until the stagnation
    rule noticed, with about twice the iterations."""
    torch.manual_seed(0)
    cfg = ConvHybridDEQConfig(in_channels=1, out_features=1, channels=4, head="field",
                              spectral_modes=4, hardware="hermes_pcm_8bit")
    model = ConvHybridDEQ(cfg, seed=0).train()
    x = torch.randn(16, 1, 12, 12)
    stats = model.forward_with_info(x).solves[0]
    assert "noise_floor" in stats.extras and bool(stats.stagnated.all())
    monkeypatch.setattr(AnalogSpectralMix, "read_noise_level", lambda self: None)
    before = model.forward_with_info(x).solves[0]
    assert "noise_floor" not in before.extras
    assert float(stats.iterations.float().mean()) < float(before.iterations.float().mean())


def test_physics_aware_hybrid_deq_stops_at_the_floor_without_warnings():
    torch.manual_seed(0)
    cfg = HybridDEQConfig(in_features=16, out_features=3, hidden=48,
                          hardware="hermes_pcm_8bit")
    model = HybridDEQ(cfg, seed=0).train()
    x = torch.randn(32, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = model.forward_with_info(x)
        info.output.square().sum().backward()
    stats = info.solves[0]
    assert stats.stagnated.all() and "noise_floor" in stats.extras
    assert int(stats.iterations.max()) < 50


def _cosine_and_error(a: dict, b: dict) -> tuple[float, float]:
    x = torch.cat([a[n].flatten().double() for n in sorted(b)])
    y = torch.cat([b[n].flatten().double() for n in sorted(b)])
    cosine = torch.nn.functional.cosine_similarity(x, y, dim=0)
    return float(cosine), float((x - y).norm() / y.norm())


def test_gradient_at_the_floor_against_the_exact_implicit_gradient():
    """The physics-aware gradient (solve stopped at its floor, adjoint solved only as far
    as that floor allows) against the exact implicit gradient at the same equilibrium and
    at the noise-free equilibrium of the programmed chip (benchmarks/deq_training.py)."""
    import dataclasses

    import torch.nn.functional as F

    from hadeq.models.core import deq_config
    from hadeq.solvers import batched

    torch.manual_seed(0)
    cfg = HybridDEQConfig(in_features=16, out_features=3, hidden=64,
                          hardware="hermes_pcm_8bit")
    model = HybridDEQ(cfg, seed=0).train()
    x, y = torch.randn(64, 16), torch.randint(0, 3, (64,))
    # To float32 rounding: the stagnation rule stops the solves there.
    exact = {"tol": 1e-12, "stop_mode": "abs", "max_iter": 300, "stagnation_window": 10}

    def grads(run):
        model.zero_grad(set_to_none=True)
        torch.manual_seed(5)  # the same read noise in every solve
        F.cross_entropy(run(), y).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    ours = grads(lambda: model(x))
    model.deq = hadeq.DEQ(dataclasses.replace(deq_config(cfg), backward_options=exact,
                                              adjoint_floor_fraction=0.0,
                                              warn_unconverged=False)).train()
    same = grads(lambda: model(x))

    def noise_free():
        u = model.injection(x)
        deq = hadeq.DEQ(solver_options=exact, backward_options=exact, warn_unconverged=False)
        z, _ = deq(batched(model._frozen_map, u), torch.zeros_like(u),
                   proxy=batched(model._clean_map, u))
        return model.head(model.adc_read(z))

    reference = grads(noise_free)
    cos, err = _cosine_and_error(ours, same)
    assert cos > 0.99999 and err < 2e-3
    cos, err = _cosine_and_error(ours, reference)
    assert cos > 0.9999 and err < 3e-2


def test_adjoint_is_solved_to_the_fraction_of_the_forward_floor(generator):
    fmap = DenseMap(32, 4, 0.7, generator)
    x = torch.randn(8, 4, dtype=torch.float64, generator=generator).requires_grad_()
    z0 = torch.zeros(8, 32, dtype=torch.float64)
    noisy = _noisy(fmap, x, 1e-4)
    clean = fmap.bind(x)
    for fraction in (0.1, 0.0):
        deq = hadeq.DEQ(solver_options={"tol": 1e-9}, backward_options={"tol": 1e-8},
                        adjoint_floor_fraction=fraction)
        adjoint = []
        z, stats = deq(noisy, z0, proxy=clean, on_backward=adjoint.append, noise_floor=1e-4)
        z.sum().backward()
        floor = float(stats.extras["noise_floor"].median())
        assert adjoint[0].tol == (pytest.approx(0.1 * floor) if fraction else 1e-8)
